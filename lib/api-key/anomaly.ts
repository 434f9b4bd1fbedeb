import { deleteOldest } from '../core/maps.js'

/**
 * Notices one key used from an unusual number of distinct client addresses
 * within a window: a leaked key being shared, or a botnet using it.
 * Memory is bounded twice: at most `maxKeys` keys are tracked (the least
 * recently seen are forgotten) and at most `threshold` addresses per key.
 */
export class IpSpread {
  readonly #seen = new Map<string, { start: number, ips: Set<string>, reported: boolean }>()
  readonly #threshold: number
  readonly #window: number
  readonly #maxKeys: number

  constructor (threshold: number, windowMs: number, maxKeys = 10_000) {
    this.#threshold = threshold
    this.#window = windowMs
    this.#maxKeys = maxKeys
  }

  /** How many keys are being tracked. */
  get size (): number {
    return this.#seen.size
  }

  /**
   * Records a use of key `id` from `ip` at `now`. Returns the number of
   * distinct addresses the first time the threshold is reached in a window,
   * and 0 otherwise, so each burst is reported once.
   */
  observe (id: string, ip: string, now: number): number {
    let s = this.#seen.get(id)
    if (s === undefined || now - s.start >= this.#window) {
      if (s !== undefined) this.#seen.delete(id)
      else if (this.#seen.size >= this.#maxKeys) deleteOldest(this.#seen)
      s = { start: now, ips: new Set(), reported: false }
      this.#seen.set(id, s)
    }
    if (s.reported || s.ips.has(ip)) return 0
    s.ips.add(ip)
    if (s.ips.size < this.#threshold) return 0
    s.reported = true
    const count = s.ips.size
    // Nothing more is learnt from this window: keep only the flag.
    s.ips.clear()
    return count
  }
}
