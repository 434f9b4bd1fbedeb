import type { RedisClient } from './options.js'

/**
 * Whether Redis is worth asking: the client is connected and no command
 * failed in the last `cooldownMs`. A stalled Redis (connected but silent)
 * costs one command timeout per cool-down, not one per request; after it,
 * the next call tries Redis again.
 */
export class RedisHealth {
  readonly #client: RedisClient
  readonly #cooldownMs: number
  readonly #clock: () => number
  #skipUntil = Number.NEGATIVE_INFINITY

  constructor (client: RedisClient, cooldownMs = 2000, clock: () => number = () => performance.now()) {
    this.#client = client
    this.#cooldownMs = cooldownMs
    this.#clock = clock
  }

  /** Connected, and not cooling down after a failure. */
  get available (): boolean {
    return this.#client.status === 'ready' && this.#clock() >= this.#skipUntil
  }

  /** A command failed: skip Redis for the cool-down. */
  failed (): void {
    this.#skipUntil = this.#clock() + this.#cooldownMs
  }
}
