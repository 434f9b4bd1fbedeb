import { RankedMap } from './ranked-map.js'

/**
 * Counters for rate limits and login protection, behind a small interface so
 * that a shared backend (Redis) can replace the in-memory one. Every method
 * is atomic per key: two concurrent calls on one key never lose an update.
 */

/** A counter's value and the time (ms since the epoch) at which it is forgotten. */
export interface CounterValue {
  value: number
  expiresAt: number
}

/** The hits of a sliding window. */
export interface WindowHits {
  /** Hits inside the window (at most the `keep` given to {@link CounterStore.hit}). */
  count: number
  /** Time of the oldest hit counted, or `null` when there is none. */
  oldest: number | null
}

/** Where protection keeps its counters. Implementations: {@link MemoryCounterStore}; Redis later. */
export interface CounterStore {
  /**
   * Adds 1 to `key` and returns the new value. A missing or expired key
   * starts at 1 and expires `ttlMs` from now (a fixed window); with
   * `slide: true` every increment pushes the expiry to `ttlMs` from now.
   */
  increment (key: string, ttlMs: number, slide?: boolean): Promise<CounterValue>
  /** The value of `key`, or `null` when it is missing or expired. */
  get (key: string): Promise<CounterValue | null>
  /** Sets `key` to `value`, expiring `ttlMs` from now. */
  set (key: string, value: number, ttlMs: number): Promise<void>
  /** Sets `key` to `value` only when it is missing or expired; `true` when it was set (one caller of many wins). */
  setIfAbsent (key: string, value: number, ttlMs: number): Promise<boolean>
  /** Forgets `key`, whatever it holds. */
  delete (key: string): Promise<void>
  /**
   * Adds a hit at the current time to the sliding window `key` and returns
   * the hits of the last `windowMs`. Only the newest `keep` hits are kept,
   * which bounds memory and is enough to tell whether a limit of `keep` is reached.
   */
  hit (key: string, windowMs: number, keep: number): Promise<WindowHits>
  /** The hits of the last `windowMs` in window `key`, without adding one. */
  hits (key: string, windowMs: number): Promise<WindowHits>
  /**
   * Adds a hit to the sliding window `key` only when fewer than `limit` hits
   * are in its last `windowMs` (check and add are one atomic step). Returns
   * the hits after the call and the id of the hit added, `null` when the
   * window was full and nothing was added.
   */
  take (key: string, windowMs: number, limit: number): Promise<Taken>
  /** Removes the hit `id` (from {@link take}) of window `key`; nothing when it is gone already. */
  release (key: string, id: string): Promise<void>
}

/** The answer of {@link CounterStore.take}. */
export interface Taken extends WindowHits {
  /** The id of the hit added, for {@link CounterStore.release}; `null` when the window was full. */
  id: string | null
}

/** Options of {@link MemoryCounterStore}. */
export interface MemoryCounterOptions {
  /** Most keys held; past it the least telling are forgotten (default 100000). */
  maxKeys?: number
  /** The clock, in ms (default `Date.now`); pass `app.gatekeeper.now` so tests control time. */
  now?: () => number
  /**
   * How hard to hold on to a key, 0 (default) to 3: a key is forgotten to
   * make room only when no key of a lower priority is left. Brute-force
   * protection gives its locks and back-off levels 2 and its failure
   * streaks 1 (`bruteForcePriority`), so other keys' traffic never
   * pushes them out.
   */
  priority?: (key: string) => number
}

type Entry =
  | { kind: 'counter', value: number, expiresAt: number }
  | { kind: 'window', times: number[], expiresAt: number }

const PRIORITIES = 4
/** Counts are ranked in powers of two: 1, 2–3, 4–7, … up to 2^31. */
const COUNT_RANKS = 32

/** The rank of an entry: its key's priority first, then how much it counts. */
function ranker (priority: (key: string) => number): (key: string, e: Entry) => number {
  return (key, e) => {
    const n = e.kind === 'counter' ? e.value : e.times.length
    const count = n <= 1 ? 0 : Math.min(COUNT_RANKS - 1, Math.floor(Math.log2(n)))
    return Math.min(PRIORITIES - 1, Math.max(0, priority(key))) * COUNT_RANKS + count
  }
}

/**
 * Counters in this process's memory. Bounded: at most `maxKeys` keys. When
 * full, expired keys are swept (at most once a second); otherwise the least
 * telling key is forgotten: of the lowest `priority`, the one that counts
 * least (a window's hits, a counter's value, in powers of two), the least
 * recently used among equals. A flood of new keys, each counting one, thus
 * pushes out only its own kind: never a key that counts more, never a key
 * of a higher priority. Not shared between instances.
 */
export class MemoryCounterStore implements CounterStore {
  readonly #map: RankedMap<Entry>
  readonly #max: number
  readonly #now: () => number
  #lastSweep = Number.NEGATIVE_INFINITY

  constructor (options: MemoryCounterOptions = {}) {
    const max = options.maxKeys ?? 100_000
    if (!Number.isInteger(max) || max < 1) throw new TypeError('maxKeys must be a positive integer')
    this.#max = max
    this.#now = options.now ?? Date.now
    this.#map = new RankedMap(PRIORITIES * COUNT_RANKS, ranker(options.priority ?? (() => 0)))
  }

  /** How many keys are held (expired ones included until swept). */
  get size (): number {
    return this.#map.size
  }

  async increment (key: string, ttlMs: number, slide = false): Promise<CounterValue> {
    return this.incrementNow(key, ttlMs, slide)
  }

  /** @internal {@link increment}, answered synchronously (the rate limiter's hot path needs no promise). */
  incrementNow (key: string, ttlMs: number, slide = false): CounterValue {
    const now = this.#now()
    const e = this.#live(key, now)
    if (e === undefined || e.kind !== 'counter') {
      const fresh = { kind: 'counter' as const, value: 1, expiresAt: now + ttlMs }
      this.#put(key, fresh)
      return { value: 1, expiresAt: fresh.expiresAt }
    }
    e.value++
    if (slide) e.expiresAt = now + ttlMs
    this.#map.rerank(key)
    return { value: e.value, expiresAt: e.expiresAt }
  }

  async get (key: string): Promise<CounterValue | null> {
    const e = this.#live(key, this.#now())
    return e === undefined || e.kind !== 'counter' ? null : { value: e.value, expiresAt: e.expiresAt }
  }

  async set (key: string, value: number, ttlMs: number): Promise<void> {
    this.#put(key, { kind: 'counter', value, expiresAt: this.#now() + ttlMs })
  }

  async setIfAbsent (key: string, value: number, ttlMs: number): Promise<boolean> {
    if (this.#live(key, this.#now()) !== undefined) return false
    await this.set(key, value, ttlMs)
    return true
  }

  async delete (key: string): Promise<void> {
    this.#map.delete(key)
  }

  async hit (key: string, windowMs: number, keep: number): Promise<WindowHits> {
    const now = this.#now()
    let e = this.#live(key, now)
    if (e === undefined || e.kind !== 'window') {
      e = { kind: 'window', times: [], expiresAt: 0 }
      this.#put(key, e)
    }
    e.times = inWindow(e.times, now, windowMs)
    e.times.push(now)
    if (e.times.length > keep) e.times.splice(0, e.times.length - keep)
    e.expiresAt = now + windowMs
    this.#map.rerank(key)
    return { count: e.times.length, oldest: e.times[0] ?? null }
  }

  async hits (key: string, windowMs: number): Promise<WindowHits> {
    const now = this.#now()
    const e = this.#live(key, now)
    if (e === undefined || e.kind !== 'window') return { count: 0, oldest: null }
    const times = inWindow(e.times, now, windowMs)
    return { count: times.length, oldest: times[0] ?? null }
  }

  async take (key: string, windowMs: number, limit: number): Promise<Taken> {
    const now = this.#now()
    const e = this.#live(key, now)
    const times = e === undefined || e.kind !== 'window' ? [] : inWindow(e.times, now, windowMs)
    if (times.length >= limit) {
      if (e !== undefined && e.kind === 'window') e.times = times
      return { count: times.length, oldest: times[0] ?? null, id: null }
    }
    times.push(now)
    this.#put(key, { kind: 'window', times, expiresAt: now + windowMs })
    // Hits of one millisecond are interchangeable: the time is the id.
    return { count: times.length, oldest: times[0] as number, id: String(now) }
  }

  async release (key: string, id: string): Promise<void> {
    const e = this.#live(key, this.#now())
    if (e === undefined || e.kind !== 'window') return
    const i = e.times.lastIndexOf(Number(id))
    if (i !== -1) e.times.splice(i, 1)
    this.#map.rerank(key)
  }

  /** The entry of `key` if it has not expired, marked as most recently used. */
  #live (key: string, now: number): Entry | undefined {
    const e = this.#map.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt <= now) {
      this.#map.delete(key)
      return undefined
    }
    return e
  }

  #put (key: string, e: Entry): void {
    this.#map.delete(key)
    if (this.#map.size >= this.#max) this.#makeRoom()
    this.#map.set(key, e)
  }

  #makeRoom (): void {
    const now = this.#now()
    // A full sweep is O(n): at most once a second, so a flood of new keys cannot make every insert scan the map.
    if (now - this.#lastSweep >= 1000) {
      this.#lastSweep = now
      for (const [k, slot] of this.#map.entries()) if (slot.value.expiresAt <= now) this.#map.delete(k)
    }
    if (this.#map.size >= this.#max) this.#map.evict()
  }
}

function inWindow (times: number[], now: number, windowMs: number): number[] {
  const from = now - windowMs
  let i = 0
  while (i < times.length && (times[i] as number) <= from) i++
  return i === 0 ? times : times.slice(i)
}

/** An in-memory {@link CounterStore}. */
export function memoryCounters (options: MemoryCounterOptions = {}): MemoryCounterStore {
  return new MemoryCounterStore(options)
}
