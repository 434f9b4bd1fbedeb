import { randomBytes } from 'node:crypto'
import type { CounterStore, CounterValue, Taken, WindowHits } from '../protection/counters.js'
import type { RedisClient } from './options.js'
import { DELETE, GET, HIT, HITS, INCREMENT, KEPT_DELETE, KEPT_FORGET, KEPT_GET, KEPT_INCREMENT, KEPT_SET, RELEASE, run, SET, TAKE } from './scripts.js'

/** Options of {@link RedisCounterStore}. */
export interface RedisCounterOptions {
  /** An ioredis client. */
  client: RedisClient
  /** Prefix of every key (default `'gk:'`); counters live under `<prefix>c:`. */
  prefix?: string
  /** The clock, in ms (default `Date.now`); pass `app.gatekeeper.now`. */
  now?: () => number
  /**
   * Keys above 0 are kept out of reach of Redis's eviction (see
   * `MemoryCounterOptions.priority`): their counters live in one hash
   * without a TTL, which no `volatile-*` policy evicts, and expire through
   * the scripts. Default: every key is an ordinary key with a TTL.
   */
  priority?: (key: string) => number
}

function counter (reply: unknown): CounterValue | null {
  if (!Array.isArray(reply)) return null
  return { value: Number(reply[0]), expiresAt: Number(reply[1]) }
}

/** A counter just written: the scripts always answer one. */
function written (reply: unknown): CounterValue {
  const c = counter(reply)
  if (c === null) throw new Error('gatekeeper: unexpected Redis reply to a counter increment')
  return c
}

function hits (reply: unknown): WindowHits {
  const count: unknown = Array.isArray(reply) ? reply[0] : undefined
  const oldest: unknown = Array.isArray(reply) ? reply[1] : undefined
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
  readonly #priority: (key: string) => number
  readonly #kept: [string, string]

  constructor (options: RedisCounterOptions) {
    this.#client = options.client
    this.#prefix = `${options.prefix ?? 'gk:'}c:`
    this.#now = options.now ?? Date.now
    this.#priority = options.priority ?? (() => 0)
    // One hash slot (the hash tag) for both, so a Cluster runs the scripts that touch them together.
    this.#kept = [`${this.#prefix}{kept}`, `${this.#prefix}{kept}:expiry`]
  }

  /**
   * The Redis key of a counter key. A kept key's counter is a field of one
   * hash; the name returned is where a window of that name would live, in
   * the hash's slot.
   */
  keyOf (key: string): string {
    return this.#priority(key) > 0 ? `${this.#prefix}{kept}:${key}` : this.#prefix + key
  }

  /** The keys a script on kept key `key` touches (all in one hash slot), or `null` for an ordinary key. */
  #keptKeys (key: string): string[] | null {
    return this.#priority(key) > 0 ? [...this.#kept, this.keyOf(key)] : null
  }

  async increment (key: string, ttlMs: number, slide = false): Promise<CounterValue> {
    const kept = this.#keptKeys(key)
    if (kept !== null) return written(await run(this.#client, KEPT_INCREMENT, kept, [key, this.#now(), ttlMs, slide ? 1 : 0]))
    return written(await run(this.#client, INCREMENT, [this.keyOf(key)], [this.#now(), ttlMs, slide ? 1 : 0]))
  }

  async get (key: string): Promise<CounterValue | null> {
    const kept = this.#keptKeys(key)
    if (kept !== null) return counter(await run(this.#client, KEPT_GET, kept, [key, this.#now()]))
    return counter(await run(this.#client, GET, [this.keyOf(key)], [this.#now()]))
  }

  async set (key: string, value: number, ttlMs: number): Promise<void> {
    const kept = this.#keptKeys(key)
    if (kept !== null) await run(this.#client, KEPT_SET, kept, [key, this.#now(), value, ttlMs, 0])
    else await run(this.#client, SET, [this.keyOf(key)], [this.#now(), value, ttlMs, 0])
  }

  async setIfAbsent (key: string, value: number, ttlMs: number): Promise<boolean> {
    const kept = this.#keptKeys(key)
    if (kept !== null) return await run(this.#client, KEPT_SET, kept, [key, this.#now(), value, ttlMs, 1]) === 1
    return await run(this.#client, SET, [this.keyOf(key)], [this.#now(), value, ttlMs, 1]) === 1
  }

  async delete (key: string): Promise<void> {
    const kept = this.#keptKeys(key)
    if (kept !== null) await run(this.#client, KEPT_DELETE, kept, [key])
    else await run(this.#client, DELETE, [this.keyOf(key)], [])
  }

  /** A window under a kept key's name replaces its counter, as in the memory store. */
  async #asWindow (key: string): Promise<void> {
    const kept = this.#keptKeys(key)
    if (kept !== null) await run(this.#client, KEPT_FORGET, kept, [key])
  }

  async hit (key: string, windowMs: number, keep: number): Promise<WindowHits> {
    await this.#asWindow(key)
    // A random member: two hits in the same millisecond, from two instances, are two hits.
    const member = `${this.#now()}:${randomBytes(6).toString('base64url')}`
    return hits(await run(this.#client, HIT, [this.keyOf(key)], [this.#now(), windowMs, keep, member]))
  }

  async hits (key: string, windowMs: number): Promise<WindowHits> {
    return hits(await run(this.#client, HITS, [this.keyOf(key)], [this.#now(), windowMs]))
  }

  async take (key: string, windowMs: number, limit: number): Promise<Taken> {
    await this.#asWindow(key)
    const now = this.#now()
    const member = `${now}:${randomBytes(6).toString('base64url')}`
    const reply = await run(this.#client, TAKE, [this.keyOf(key)], [now, windowMs, limit, member])
    const id: unknown = Array.isArray(reply) ? reply[2] : null
    return { ...hits(reply), id: typeof id === 'string' ? id : null }
  }

  async release (key: string, id: string): Promise<void> {
    await run(this.#client, RELEASE, [this.keyOf(key)], [id])
  }
}

/** A Redis {@link CounterStore}. */
export function redisCounters (options: RedisCounterOptions): RedisCounterStore {
  return new RedisCounterStore(options)
}
