import { fieldOf } from '../core/json.js'

/** Where background failures are reported. */
export interface JobLogger {
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/**
 * Work done after the answer is sent (mail lookups, token writes, delivery),
 * so the answer takes the same time whether or not an account exists and
 * however slow the mail server is. At most `max` jobs are in flight; past
 * that a job is dropped and logged, so a flood cannot grow memory.
 */
export class Jobs {
  readonly #pending = new Set<Promise<void>>()
  readonly #max: number
  readonly #log: JobLogger
  #dropped = 0

  constructor (max: number, log: JobLogger) {
    this.#max = max
    this.#log = log
  }

  /** How many jobs are in flight. */
  get pending (): number {
    return this.#pending.size
  }

  /** How many jobs were dropped because too many were in flight. */
  get dropped (): number {
    return this.#dropped
  }

  /** Runs `fn` on a later turn of the event loop (after the current answer is written); `false` when dropped. */
  run (name: string, fn: () => Promise<unknown>): boolean {
    if (this.#pending.size >= this.#max) {
      this.#dropped++
      this.#log.warn({ job: name, pending: this.#pending.size }, 'gatekeeper: too many account mails in flight; one was dropped')
      return false
    }
    const job: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(fn)
      .then(() => {}, (err: unknown) => {
        // Only the name, code and message: a driver error is not a secret, and nothing else is logged.
        this.#log.error({ job: name, err: { name: fieldOf(err, 'name'), code: fieldOf(err, 'code'), message: fieldOf(err, 'message') } }, 'gatekeeper: an account job failed')
      })
      .finally(() => { this.#pending.delete(job) })
    this.#pending.add(job)
    return true
  }

  /** Resolves once every job started so far (and any they started) has settled. */
  async idle (): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }
}
