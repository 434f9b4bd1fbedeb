import * as crypto from 'node:crypto'

/** One verified token: what authentication needs, and when it stops being valid. */
export interface CacheEntry<T> {
  value: T
  /** Milliseconds since the epoch after which the entry is dead (the token's `exp`, plus tolerance). */
  expiresAt: number
}

type OneShotHash = (algorithm: string, data: string, encoding: 'binary') => string
// crypto.hash (Node >= 20.12) hashes without building a Hash object: about twice as fast on the hot path.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash

/**
 * The cache key of a token: its SHA-256 (as a 32-character binary string),
 * so the cache never holds a usable token.
 */
export const tokenKey: (token: string) => string = typeof oneShot === 'function'
  ? (token) => oneShot('sha256', token, 'binary')
  : /* c8 ignore next */ (token) => crypto.createHash('sha256').update(token).digest('binary')

/**
 * A bounded LRU cache of verified tokens over a `Map` (insertion order is
 * recency order). Entries die at their `expiresAt`; the least recently used
 * entry is evicted when the cache is full. Only successes are cached, so an
 * attacker sending junk tokens cannot evict much: every entry had to verify.
 */
export class TokenCache<T> {
  readonly #map = new Map<string, CacheEntry<T>>()
  readonly #max: number

  constructor (max: number) {
    this.#max = max
  }

  /** The number of live or not yet swept entries. */
  get size (): number {
    return this.#map.size
  }

  /**
   * The entry under `key` when it is alive at `now`; `'expired'` when it was
   * there but is dead (and is dropped); `undefined` when absent.
   */
  get (key: string, now: number): T | 'expired' | undefined {
    const entry = this.#map.get(key)
    if (entry === undefined) return undefined
    this.#map.delete(key)
    if (now >= entry.expiresAt) return 'expired'
    this.#map.set(key, entry)
    return entry.value
  }

  /** Stores an entry, evicting the least recently used one when full. */
  set (key: string, value: T, expiresAt: number): void {
    if (this.#max === 0) return
    this.#map.delete(key)
    if (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next().value as string
      this.#map.delete(oldest)
    }
    this.#map.set(key, { value, expiresAt })
  }

  /** Drops every entry whose value matches `predicate` (for example all tokens of a user). */
  deleteWhere (predicate: (value: T) => boolean): number {
    let n = 0
    for (const [key, entry] of this.#map) {
      if (predicate(entry.value)) {
        this.#map.delete(key)
        n++
      }
    }
    return n
  }

  /** Drops every entry. */
  clear (): void {
    this.#map.clear()
  }
}
