import { createHash } from 'node:crypto'
import { errors } from '../core/errors.js'
import type { RedisApi } from '../redis/setup.js'
import { deleteOldest } from '../core/maps.js'

/** The outcome of recording a proof's `jti`. */
export type ReplayVerdict = 'fresh' | 'replay' | 'stale'

/** The cache key of a proof: SHA-256 of its key's thumbprint and its `jti`, 16 bytes in base64url (22 characters). */
export function replayKey (jkt: string, jti: string): string {
  return createHash('sha256').update(jkt).update('\0').update(jti).digest().subarray(0, 16).toString('base64url')
}

/**
 * The `jti`s of proofs seen in their validity window (RFC 9449 §11.1), in
 * memory. Entries are kept in insertion order with their expiry in whole
 * seconds from the cache's creation (a small integer V8 stores unboxed);
 * expired ones at the head are dropped as new ones come. At `max` entries
 * the oldest goes, and proofs expiring no later than it are refused from
 * then on as stale: the bound never lets a replay through.
 */
export class MemoryReplayCache {
  readonly #max: number
  readonly #base: number
  readonly #seen = new Map<string, number>()
  /** Proofs expiring at or before this second (relative) are refused: their peers may have been evicted. */
  #horizon = -1

  constructor (max: number, now: number) {
    this.#max = max
    this.#base = now
  }

  /** Entries held. */
  get size (): number {
    return this.#seen.size
  }

  /** Records `key` until `expiresAt` (ms); `'replay'` when it is already held. */
  record (key: string, expiresAt: number, now: number): ReplayVerdict {
    const exp = Math.ceil((expiresAt - this.#base) / 1000)
    const t = Math.floor((now - this.#base) / 1000)
    this.#sweep(t)
    if (exp <= this.#horizon) return 'stale'
    const held = this.#seen.get(key)
    if (held !== undefined && held > t) return 'replay'
    if (held !== undefined) this.#seen.delete(key)
    this.#seen.set(key, exp)
    if (this.#seen.size > this.#max) {
      const oldest = deleteOldest(this.#seen)
      if (oldest !== undefined && oldest[1] > this.#horizon) this.#horizon = oldest[1]
    }
    return 'fresh'
  }

  /** Drops expired entries at the head (a few per call: the cost stays flat). */
  #sweep (t: number): void {
    let n = 0
    for (const [k, e] of this.#seen) {
      if (e > t || n++ >= 8) break
      this.#seen.delete(k)
    }
  }
}

/** SET key NX PX ttl: 1 when the key was set, 0 when it was there. */
const SET_NX = "if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return 1 else return 0 end"

/**
 * The replay cache every instance shares through the core's `redis`
 * option: a proof is recorded with `SET NX PX` (one round trip), after the
 * local cache, which answers replays on this instance without Redis. While
 * Redis is unreachable, `failOpen` keeps the local cache alone; otherwise
 * proofs are refused with 503 `GK_STORE_UNAVAILABLE`.
 */
export class ReplayGuard {
  readonly #local: MemoryReplayCache
  readonly #redis: RedisApi | null

  constructor (local: MemoryReplayCache, redis: RedisApi | null) {
    this.#local = local
    this.#redis = redis
  }

  /** Entries in the local cache. */
  get localSize (): number {
    return this.#local.size
  }

  /** Records a proof; `'fresh'` the first time it is seen anywhere. */
  async record (key: string, expiresAt: number, now: number): Promise<ReplayVerdict> {
    const local = this.#local.record(key, expiresAt, now)
    const redis = this.#redis
    if (local !== 'fresh' || redis === null) return local
    const { client, prefix, failOpen } = redis.settings
    if (!redis.health.available) {
      if (failOpen) return local
      throw new errors.GK_STORE_UNAVAILABLE()
    }
    const ttl = Math.max(1, expiresAt - now)
    let set: unknown
    try {
      set = await redis.health.run(async () => await client.eval(SET_NX, 1, `${prefix}dpop:${key}`, ttl))
    } catch {
      if (failOpen) return local
      throw new errors.GK_STORE_UNAVAILABLE()
    }
    return Number(set) === 1 ? 'fresh' : 'replay'
  }
}
