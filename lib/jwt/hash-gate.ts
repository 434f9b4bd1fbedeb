import { availableParallelism } from 'node:os'

interface Queue {
  /** Computations of this key running now. */
  running: number
  /** When this queue last started a computation (a sequence number; 0: never). */
  served: number
  waiting: Array<() => void>
}

/**
 * Runs at most `limit` argon2 computations at once, and shares them out
 * fairly between callers. argon2 runs on libuv's thread pool (4 threads by
 * default): unbounded, a login storm puts four memory-hard hashes on every
 * core and starves the event loop, so every other route stalls behind the
 * logins; keeping one core free for the event loop keeps them answering.
 *
 * Each computation may name a queue (the login route names the client
 * address). A free slot goes to the waiting queue with the fewest
 * computations running (among equals, the one served longest ago), first
 * come first served within a queue: one address's burst of logins waits its turn
 * instead of pushing everybody else's behind it.
 */
export class HashGate {
  readonly limit: number
  #active = 0
  readonly #queues = new Map<string, Queue>()
  #waiting = 0
  #starts = 0

  constructor (limit = Math.max(1, availableParallelism() - 1)) {
    this.limit = limit
  }

  /** Calls `fn` once a slot is free for `queue`; the slot is released when its promise settles. */
  async run<T> (fn: () => Promise<T>, queue = ''): Promise<T> {
    let q = this.#queues.get(queue)
    if (q === undefined) {
      q = { running: 0, served: 0, waiting: [] }
      this.#queues.set(queue, q)
    }
    if (this.#active < this.limit && this.#waiting === 0) {
      this.#active++
      q.running++
      q.served = ++this.#starts
    } else {
      this.#waiting++
      // #next counts the slot as this queue's when it hands it over.
      await new Promise<void>((resolve) => q.waiting.push(resolve))
    }
    try {
      return await fn()
    } finally {
      q.running--
      if (q.running === 0 && q.waiting.length === 0) this.#queues.delete(queue)
      // Hand the slot straight to the next waiter, so the count never dips and lets a newcomer jump the queue.
      const next = this.#next()
      if (next !== undefined) next()
      else this.#active--
    }
  }

  /** The waiter to run next: from the queue with the fewest computations running. */
  #next (): (() => void) | undefined {
    if (this.#waiting === 0) return undefined
    let best: Queue | undefined
    // Among queues with as many computations running, the one served longest ago: they take turns.
    for (const q of this.#queues.values()) {
      if (q.waiting.length > 0 && (best === undefined || q.running < best.running || (q.running === best.running && q.served < best.served))) best = q
    }
    const q = best as Queue
    this.#waiting--
    q.running++
    q.served = ++this.#starts
    return q.waiting.shift()
  }
}
