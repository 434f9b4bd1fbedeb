import type { RefreshTokenRepository } from '../stores/types.js'

/** Where purge failures are reported. */
export interface PurgeLogger {
  warn (obj: object, msg: string): void
}

/**
 * Deletes expired refresh tokens and sessions: on a timer that never keeps
 * the process alive, and on demand. Runs never overlap: a purge asked for
 * while one is running shares its result.
 */
export class Purger {
  readonly #tokens: RefreshTokenRepository
  readonly #now: () => number
  readonly #log: PurgeLogger
  #timer: NodeJS.Timeout | null = null
  #running: Promise<number> | null = null

  constructor (tokens: RefreshTokenRepository, now: () => number, log: PurgeLogger) {
    this.#tokens = tokens
    this.#now = now
    this.#log = log
  }

  /** Deletes what has expired now; resolves to the number of tokens deleted. */
  purge (): Promise<number> {
    if (this.#running !== null) return this.#running
    const run = this.#tokens.deleteExpired(new Date(this.#now())).finally(() => { this.#running = null })
    this.#running = run
    return run
  }

  /** Purges every `intervalMs` until {@link stop}. */
  start (intervalMs: number): void {
    this.stop()
    this.#timer = setInterval(() => {
      this.purge().catch((err: unknown) => { this.#log.warn({ err }, 'refresh token purge failed; it will be retried') })
    }, intervalMs)
    // A purge is housekeeping: it must never hold the process open.
    this.#timer.unref()
  }

  /** Whether the timer is running. */
  get scheduled (): boolean {
    return this.#timer !== null
  }

  /** Stops the timer. */
  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}
