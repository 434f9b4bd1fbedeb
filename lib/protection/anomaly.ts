import type { Anomaly } from '../core/events.js'

/** A credential-stuffing burst: one address failing logins across many accounts. */
export interface StuffingReport extends Anomaly {
  type: 'credential_stuffing'
  /** The client address (an IPv6 address as its /64). */
  ip: string
  /** Distinct accounts that failed from this address in the window. */
  accounts: number
  /** Failed logins from this address in the window. */
  failures: number
  windowMs: number
}

interface Track {
  start: number
  failures: number
  accounts: Set<string>
  reported: boolean
}

/**
 * Notices one address failing logins for `threshold` distinct accounts
 * within a window — the signature of credential stuffing (lists of leaked
 * username/password pairs tried once each), which per-account limits never
 * see. Reports each burst once per window. Memory is bounded: at most
 * `maxAddresses` addresses (the least recently seen are forgotten) and at
 * most `threshold` account names per address.
 */
export class StuffingDetector {
  readonly #seen = new Map<string, Track>()
  readonly #threshold: number
  readonly #window: number
  readonly #max: number

  constructor (threshold: number, windowMs: number, maxAddresses = 10_000) {
    this.#threshold = threshold
    this.#window = windowMs
    this.#max = maxAddresses
  }

  /** How many addresses are tracked. */
  get size (): number {
    return this.#seen.size
  }

  /**
   * Records a failed login for `account` from `ip` at `now`; returns a
   * report the first time the threshold is reached in the window, else `null`.
   */
  observe (ip: string, account: string, now: number): StuffingReport | null {
    let t = this.#seen.get(ip)
    if (t !== undefined) this.#seen.delete(ip)
    if (t === undefined || now - t.start >= this.#window) {
      t = { start: now, failures: 0, accounts: new Set(), reported: false }
      if (this.#seen.size >= this.#max) this.#seen.delete(this.#seen.keys().next().value as string)
    }
    this.#seen.set(ip, t)
    t.failures++
    if (t.reported) return null
    t.accounts.add(account)
    if (t.accounts.size < this.#threshold) return null
    t.reported = true
    const accounts = t.accounts.size
    // Nothing more is learnt from this window: keep only the flag and the count.
    t.accounts.clear()
    return { type: 'credential_stuffing', ip, accounts, failures: t.failures, windowMs: this.#window }
  }
}
