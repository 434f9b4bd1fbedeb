interface Slot<V> {
  value: V
  rank: number
}

/**
 * A map that, when something must go, gives up its least valuable entry:
 * the one of the lowest rank, and among entries of one rank the least
 * recently used. Ranks are small non-negative integers given by `rankOf`
 * (re-read by {@link rerank} after a value changes). Every operation is
 * O(1) but {@link evict}, which scans at most `ranks` buckets.
 */
export class RankedMap<V> {
  readonly #slots = new Map<string, Slot<V>>()
  /** One insertion-ordered map per rank: its first key is the least recently used of that rank. */
  readonly #byRank: Array<Map<string, Slot<V>> | undefined>
  readonly #rankOf: (key: string, value: V) => number

  /** `ranks`: how many ranks there are; `rankOf` must answer an integer from 0 to `ranks - 1`. */
  constructor (ranks: number, rankOf: (key: string, value: V) => number) {
    this.#byRank = new Array<Map<string, Slot<V>> | undefined>(ranks)
    this.#rankOf = rankOf
  }

  get size (): number {
    return this.#slots.size
  }

  /** The value of `key`, marked as most recently used of its rank. */
  get (key: string): V | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    const bucket = this.#byRank[slot.rank] as Map<string, Slot<V>>
    bucket.delete(key)
    bucket.set(key, slot)
    return slot.value
  }

  /** Sets `key` (the most recently used of its rank). */
  set (key: string, value: V): void {
    this.delete(key)
    const slot = { value, rank: this.#rank(key, value) }
    this.#slots.set(key, slot)
    this.#bucket(slot.rank).set(key, slot)
  }

  /** Moves `key` to the rank its (changed) value now has. */
  rerank (key: string): void {
    const slot = this.#slots.get(key)
    if (slot === undefined) return
    const rank = this.#rank(key, slot.value)
    if (rank === slot.rank) return
    this.#byRank[slot.rank]?.delete(key)
    slot.rank = rank
    this.#bucket(rank).set(key, slot)
  }

  delete (key: string): void {
    const slot = this.#slots.get(key)
    if (slot === undefined) return
    this.#slots.delete(key)
    this.#byRank[slot.rank]?.delete(key)
  }

  /** Removes the least valuable entry; returns its key, or `undefined` when empty. */
  evict (): string | undefined {
    for (const bucket of this.#byRank) {
      if (bucket === undefined || bucket.size === 0) continue
      const key = bucket.keys().next().value as string
      this.delete(key)
      return key
    }
    return undefined
  }

  /** Every entry, in no particular order (deleting the current one while iterating is fine). */
  entries (): IterableIterator<[string, Slot<V>]> {
    return this.#slots.entries()
  }

  #rank (key: string, value: V): number {
    const r = this.#rankOf(key, value)
    return Math.min(Math.max(0, Math.trunc(r)), this.#byRank.length - 1)
  }

  #bucket (rank: number): Map<string, Slot<V>> {
    let b = this.#byRank[rank]
    if (b === undefined) this.#byRank[rank] = b = new Map()
    return b
  }
}
