/** What the cache holds: anything with the key id it belongs to and a deadline (ms). */
export interface Cacheable {
  /** The API key id, so a revocation can evict by id. */
  readonly id: string
  /** When the entry stops being served: its time-to-live or the key's own expiry, whichever is first. */
  readonly deadline: number
}

/**
 * A bounded LRU of verified keys, keyed by the key's hash (never the key).
 * Only successful verifications go in, so a flood of bad keys cannot grow
 * it or push good keys out. A JavaScript `Map` iterates in insertion order,
 * so re-inserting on a hit makes the first entry the least recently used.
 */
export class VerifiedKeyCache<V extends Cacheable> {
  readonly #map = new Map<string, V>()
  readonly #max: number
  readonly #ttl: number
  #last: string | null = null
  #generation = 0

  /** `max` entries at most, each served for `ttlMs` at most; `max` 0 disables the cache. */
  constructor (max: number, ttlMs: number) {
    this.#max = max
    this.#ttl = ttlMs
  }

  /** How many entries are held. */
  get size (): number {
    return this.#map.size
  }

  /** The capacity. */
  get max (): number {
    return this.#max
  }

  /**
   * Bumped by every eviction; a verification that read the store before an
   * eviction must not cache what it read (the key may just have been revoked).
   */
  get generation (): number {
    return this.#generation
  }

  /** The deadline a new entry gets at `now`, before the key's own expiry is applied. */
  deadlineFrom (now: number, keyExpiresAt: number | null): number {
    const ttlEnd = now + this.#ttl
    return keyExpiresAt === null || keyExpiresAt > ttlEnd ? ttlEnd : keyExpiresAt
  }

  /** The live entry for `hash`, marking it most recently used; expired entries are dropped. */
  get (hash: string, now: number): V | undefined {
    const entry = this.#map.get(hash)
    if (entry === undefined) return undefined
    if (entry.deadline <= now) {
      this.#map.delete(hash)
      if (this.#last === hash) this.#last = null
      return undefined
    }
    // Re-inserting moves the entry to the young end; skipped when it already is there.
    if (this.#last !== hash) {
      this.#map.delete(hash)
      this.#map.set(hash, entry)
      this.#last = hash
    }
    return entry
  }

  /** Adds an entry, evicting the least recently used one past `max`; ignored when `generation` moved on. */
  set (hash: string, entry: V, generation = this.#generation): void {
    if (this.#max === 0 || generation !== this.#generation) return
    this.#map.delete(hash)
    this.#map.set(hash, entry)
    this.#last = hash
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as string
      this.#map.delete(oldest)
    }
  }

  /** Drops every entry of the key `id`; returns how many. */
  evictId (id: string): number {
    this.#generation++
    let n = 0
    for (const [hash, entry] of this.#map) {
      if (entry.id === id) {
        this.#map.delete(hash)
        n++
      }
    }
    this.#last = null
    return n
  }

  /** Drops every entry `match` accepts (for example all keys of one owner); returns how many. */
  evictWhere (match: (entry: V) => boolean): number {
    this.#generation++
    let n = 0
    for (const [hash, entry] of this.#map) {
      if (match(entry)) {
        this.#map.delete(hash)
        n++
      }
    }
    this.#last = null
    return n
  }

  /** Empties the cache. */
  clear (): void {
    this.#generation++
    this.#map.clear()
    this.#last = null
  }
}
