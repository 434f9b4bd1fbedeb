import { availableParallelism } from 'node:os'

/**
 * Runs at most `limit` argon2 computations at once; the others wait in
 * arrival order. argon2 runs on libuv's thread pool (4 threads by default):
 * unbounded, a login storm puts four memory-hard hashes on every core and
 * starves the event loop, so every other route stalls behind the logins.
 * Keeping one core free for the event loop keeps them answering.
 */
export class HashGate {
  readonly limit: number
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor (limit = Math.max(1, availableParallelism() - 1)) {
    this.limit = limit
  }

  /** Calls `fn` once a slot is free; the slot is released when its promise settles. */
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.#active < this.limit) this.#active++
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    try {
      return await fn()
    } finally {
      // Hand the slot straight to the next waiter, so the count never dips and lets a newcomer jump the queue.
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#active--
    }
  }
}
