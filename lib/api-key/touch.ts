import { deleteOldest } from '../core/maps.js'

/** Writes one key's last use; errors are the caller's to swallow. */
export type TouchWriter = (id: string, at: Date) => Promise<void>

/**
 * Debounced, off-request `lastUsedAt` writes: at most one write per key per
 * `intervalMs`, batched on `setImmediate` so no request waits for the store,
 * with bounded memory (at most `maxTracked` keys remembered, `maxPending`
 * writes queued; past that a write is skipped — it is best effort).
 */
export class TouchQueue {
  readonly #written = new Map<string, number>()
  readonly #pending = new Map<string, number>()
  readonly #inflight = new Set<Promise<void>>()
  readonly #write: TouchWriter
  readonly #onError: (err: unknown, id: string) => void
  readonly #interval: number
  readonly #maxTracked: number
  readonly #maxPending: number
  #timer: NodeJS.Immediate | null = null
  #closed = false

  constructor (write: TouchWriter, onError: (err: unknown, id: string) => void, opts: { intervalMs?: number, maxTracked?: number, maxPending?: number } = {}) {
    this.#write = write
    this.#onError = onError
    this.#interval = opts.intervalMs ?? 60_000
    this.#maxTracked = opts.maxTracked ?? 100_000
    this.#maxPending = opts.maxPending ?? 10_000
  }

  /** How many writes wait for the next flush. */
  get pending (): number {
    return this.#pending.size
  }

  /** How many keys' last write is remembered. */
  get tracked (): number {
    return this.#written.size
  }

  /** Teaches the queue a key's stored `lastUsedAt`, so a fresh instance does not rewrite it at once. */
  seed (id: string, lastUsedAt: number): void {
    if (!this.#written.has(id)) this.#remember(id, lastUsedAt)
  }

  /** Notes a use of key `id` at `now`; schedules a write when the last one is old enough. */
  used (id: string, now: number): void {
    const last = this.#written.get(id)
    if (last !== undefined && now - last < this.#interval) return
    if (this.#closed || this.#pending.size >= this.#maxPending) return
    this.#remember(id, now)
    this.#pending.set(id, now)
    if (this.#timer === null) {
      this.#timer = setImmediate(() => { this.#flush() })
      this.#timer.unref()
    }
  }

  /** Writes what is queued and waits for every write in flight (at shutdown). */
  async drain (): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) {
      clearImmediate(this.#timer)
      this.#flush()
    }
    await Promise.all(this.#inflight)
  }

  #remember (id: string, at: number): void {
    // Re-inserting keeps the Map in write order, so the first key is the stalest.
    this.#written.delete(id)
    this.#written.set(id, at)
    if (this.#written.size > this.#maxTracked) deleteOldest(this.#written)
  }

  #flush (): void {
    this.#timer = null
    for (const [id, at] of this.#pending) {
      let p: Promise<void>
      try {
        p = this.#write(id, new Date(at))
      } catch (err) {
        this.#onError(err, id)
        continue
      }
      const tracked: Promise<void> = Promise.resolve(p).then(
        () => { this.#inflight.delete(tracked) },
        (err: unknown) => {
          this.#inflight.delete(tracked)
          this.#onError(err, id)
        }
      )
      this.#inflight.add(tracked)
    }
    this.#pending.clear()
  }
}
