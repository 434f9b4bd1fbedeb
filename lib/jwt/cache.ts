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
 * A bounded cache of verified tokens with least-recently-used eviction done
 * in two generations (the "hashlru" scheme): new and recently used entries
 * live in the current map; when it holds half the bound, it becomes the old
 * map and the previous old map is dropped whole. A hit in the old map moves
 * the entry forward. Nothing is deleted on the hot path: V8 maps degrade to
 * O(size) per operation under steady delete-and-insert churn near their
 * capacity, which a classic delete/re-set LRU over one Map runs into.
 *
 * Entries die at their `expiresAt`. Only successes are cached, so an
 * attacker sending junk tokens cannot flush it: every entry had to verify.
 * At most `max` entries are held (2 when `max` is 1); 0 disables caching.
 */
export class TokenCache<T> {
  #current = new Map<string, CacheEntry<T>>()
  #old = new Map<string, CacheEntry<T>>()
  readonly #limit: number

  constructor (max: number) {
    this.#limit = max === 0 ? 0 : Math.max(1, Math.floor(max / 2))
  }

  /** The number of entries held (live or not yet swept). */
  get size (): number {
    let n = this.#current.size
    for (const key of this.#old.keys()) if (!this.#current.has(key)) n++
    return n
  }

  /**
   * The entry under `key` when it is alive at `now`; `'expired'` when it was
   * there but is dead (and is dropped); `undefined` when absent.
   */
  get (key: string, now: number): T | 'expired' | undefined {
    let entry = this.#current.get(key)
    if (entry === undefined) {
      entry = this.#old.get(key)
      if (entry === undefined) return undefined
      if (now >= entry.expiresAt) {
        this.#old.delete(key)
        return 'expired'
      }
      this.#insert(key, entry)
      return entry.value
    }
    if (now >= entry.expiresAt) {
      this.#current.delete(key)
      this.#old.delete(key)
      return 'expired'
    }
    return entry.value
  }

  /** Stores an entry; the least recently used ones go first when the cache is full. */
  set (key: string, value: T, expiresAt: number): void {
    if (this.#limit === 0) return
    this.#insert(key, { value, expiresAt })
  }

  #insert (key: string, entry: CacheEntry<T>): void {
    this.#current.set(key, entry)
    if (this.#current.size >= this.#limit) {
      this.#old = this.#current
      this.#current = new Map()
    }
  }

  /** Drops every entry whose value matches `predicate` (for example all tokens of a user). */
  deleteWhere (predicate: (value: T) => boolean): number {
    let n = 0
    for (const map of [this.#current, this.#old]) {
      for (const [key, entry] of map) {
        if (predicate(entry.value)) {
          map.delete(key)
          n++
        }
      }
    }
    return n
  }

  /** Drops every entry. */
  clear (): void {
    this.#current = new Map()
    this.#old = new Map()
  }
}
