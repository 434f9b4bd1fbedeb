import { randomBytes } from 'node:crypto'
import type { CounterStore, CounterValue, Taken, WindowHits } from '../protection/counters.js'
import type { RedisClient } from './options.js'
import { DELETE, GET, HIT, HITS, INCREMENT, RELEASE, run, SET, TAKE } from './scripts.js'

/** Options of {@link RedisCounterStore}. */
export interface RedisCounterOptions {
  /** An ioredis client. */
  client: RedisClient
  /** Prefix of every key (default `'gk:'`); counters live under `<prefix>c:`. */
  prefix?: string
  /** The clock, in ms (default `Date.now`); pass `app.gatekeeper.now`. */
  now?: () => number
}

function counter (reply: unknown): CounterValue | null {
  if (!Array.isArray(reply)) return null
  return { value: Number(reply[0]), expiresAt: Number(reply[1]) }
}

function hits (reply: unknown): WindowHits {
  const [count, oldest] = reply as [number, string | null]
  return { count: Number(count), oldest: oldest === null || oldest === undefined ? null : Number(oldest) }
}

/**
 * A {@link CounterStore} in Redis, shared by every instance: brute-force
 * counters then count the failures of all instances together. Each method
 * is one Lua script, so it is atomic across processes. Every key carries a
 * TTL, so nothing is left behind. Times come from `now` (the gatekeeper's
 * clock), not from Redis, so windows follow the same clock everywhere.
 * Errors (Redis unreachable, a command timing out) reject; the core wraps
 * the store to fail open or closed as configured.
 */
export class RedisCounterStore implements CounterStore {
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #now: () => number

  constructor (options: RedisCounterOptions) {
    this.#client = options.client
    this.#prefix = `${options.prefix ?? 'gk:'}c:`
    this.#now = options.now ?? Date.now
  }

  /** The Redis key of a counter key. */
  keyOf (key: string): string {
    return this.#prefix + key
  }

  async increment (key: string, ttlMs: number, slide = false): Promise<CounterValue> {
    return counter(await run(this.#client, INCREMENT, [this.keyOf(key)], [this.#now(), ttlMs, slide ? 1 : 0])) as CounterValue
  }

  async get (key: string): Promise<CounterValue | null> {
    return counter(await run(this.#client, GET, [this.keyOf(key)], [this.#now()]))
  }

  async set (key: string, value: number, ttlMs: number): Promise<void> {
    await run(this.#client, SET, [this.keyOf(key)], [this.#now(), value, ttlMs, 0])
  }

  async setIfAbsent (key: string, value: number, ttlMs: number): Promise<boolean> {
    return await run(this.#client, SET, [this.keyOf(key)], [this.#now(), value, ttlMs, 1]) === 1
  }

  async delete (key: string): Promise<void> {
    await run(this.#client, DELETE, [this.keyOf(key)], [])
  }

  async hit (key: string, windowMs: number, keep: number): Promise<WindowHits> {
    // A random member: two hits in the same millisecond, from two instances, are two hits.
    const member = `${this.#now()}:${randomBytes(6).toString('base64url')}`
    return hits(await run(this.#client, HIT, [this.keyOf(key)], [this.#now(), windowMs, keep, member]))
  }

  async hits (key: string, windowMs: number): Promise<WindowHits> {
    return hits(await run(this.#client, HITS, [this.keyOf(key)], [this.#now(), windowMs]))
  }

  async take (key: string, windowMs: number, limit: number): Promise<Taken> {
    const now = this.#now()
    const member = `${now}:${randomBytes(6).toString('base64url')}`
    const reply = await run(this.#client, TAKE, [this.keyOf(key)], [now, windowMs, limit, member]) as [number, string | null, string | null]
    return { ...hits(reply), id: typeof reply[2] === 'string' ? reply[2] : null }
  }

  async release (key: string, id: string): Promise<void> {
    await run(this.#client, RELEASE, [this.keyOf(key)], [id])
  }
}

/** A Redis {@link CounterStore}. */
export function redisCounters (options: RedisCounterOptions): RedisCounterStore {
  return new RedisCounterStore(options)
}
