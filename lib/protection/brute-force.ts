import { createHash } from 'node:crypto'
import type { CounterStore } from './counters.js'
import { clientAddress } from './ip.js'
import type { BruteForceSettings } from './options.js'

/** Why an attempt is refused before any password check, and for how long. */
export interface Refusal {
  /** `'account'`: the account is locked; `'ip'`: too many failures from the address; `'blocked'`: the address is blocked after credential stuffing. */
  scope: 'account' | 'ip' | 'blocked'
  retryAfterMs: number
}

/** What a failed attempt led to. */
export interface FailureOutcome {
  /** Consecutive failures of the account since its last success. */
  streak: number
  /** Set when this failure locked the account: the lockout length. */
  lockedForMs: number | null
  /** Which lockout of the streak this is (1 for the first); 0 when not locked. */
  level: number
  /** Set when this failure took the address to its limit: how long it is refused. */
  ipRefusedForMs: number | null
}

// Login names are hashed into counter keys: bounded length, and no personal data in a shared backend.
function account (login: string): string {
  return createHash('sha256').update(login).digest('base64url').slice(0, 24)
}

const K = {
  attempts: (a: string) => `bf:a:${a}`,
  streak: (a: string) => `bf:s:${a}`,
  level: (a: string) => `bf:n:${a}`,
  lock: (a: string) => `bf:l:${a}`,
  ip: (addr: string) => `bf:i:${addr}`,
  block: (addr: string) => `bf:b:${addr}`
}

/**
 * Brute-force protection of logins over a {@link CounterStore}.
 *
 * - Each attempt is counted against its account *before* the password is
 *   checked, so a burst of parallel attempts cannot all slip past the check
 *   (the count and the check are one atomic step); success clears it.
 * - When an account reaches `account.max` attempts in its window it is
 *   locked for `base × factor^(n−1)` (capped at `lockout.max`) and gets a
 *   fresh window after the lockout.
 * - After `hardCap` consecutive failures every further failure locks for
 *   `lockout.max` (NIST SP 800-63B §5.2.2, ASVS 2.2.1).
 * - Failures per address are counted separately (successes do not clear
 *   them: one valid account must not launder an attacker's failures).
 * Unknown accounts are counted exactly like known ones, so a lockout tells
 * nothing about which names exist.
 */
export class BruteForce {
  readonly #c: CounterStore
  readonly #s: BruteForceSettings
  readonly #now: () => number

  constructor (counters: CounterStore, settings: BruteForceSettings, now: () => number) {
    this.#c = counters
    this.#s = settings
    this.#now = now
  }

  /** The settings in force. */
  get settings (): BruteForceSettings {
    return this.#s
  }

  /**
   * Decides whether a login attempt for `login` (its canonical form) from
   * `ip` may go on to the password check, and counts it against the account.
   * Returns the refusal, or `null` to go on.
   */
  async admit (login: string, ip: string): Promise<Refusal | null> {
    const addr = clientAddress(ip)
    const a = account(login)
    const now = this.#now()
    const block = await this.#c.get(K.block(addr))
    if (block !== null) return { scope: 'blocked', retryAfterMs: block.expiresAt - now }
    const lock = await this.#c.get(K.lock(a))
    if (lock !== null) return { scope: 'account', retryAfterMs: lock.expiresAt - now }
    const { max, windowMs } = this.#s.ip
    const ipHits = await this.#c.hits(K.ip(addr), windowMs)
    if (ipHits.count >= max) return { scope: 'ip', retryAfterMs: (ipHits.oldest as number) + windowMs - now }
    const attempts = await this.#c.hit(K.attempts(a), this.#s.account.windowMs, this.#s.account.max + 1)
    // Past the limit without a lock yet: parallel attempts still in flight will set it.
    if (attempts.count > this.#s.account.max) return { scope: 'account', retryAfterMs: this.#s.lockout.baseMs }
    return null
  }

  /** Records a failed attempt (after {@link admit} let it through) and locks where a limit is reached. */
  async failure (login: string, ip: string): Promise<FailureOutcome> {
    const addr = clientAddress(ip)
    const a = account(login)
    const s = this.#s
    const now = this.#now()
    const streak = (await this.#c.increment(K.streak(a), s.forgetMs, true)).value
    const ipHits = await this.#c.hit(K.ip(addr), s.ip.windowMs, s.ip.max)
    const ipRefusedForMs = ipHits.count >= s.ip.max ? (ipHits.oldest as number) + s.ip.windowMs - now : null
    const outcome: FailureOutcome = { streak, lockedForMs: null, level: 0, ipRefusedForMs }
    const attempts = await this.#c.hits(K.attempts(a), s.account.windowMs)
    if (streak < s.hardCap && attempts.count < s.account.max) return outcome
    const level = ((await this.#c.get(K.level(a)))?.value ?? 0) + 1
    const lockedForMs = streak >= s.hardCap
      ? s.lockout.maxMs
      : Math.min(Math.round(s.lockout.baseMs * s.lockout.factor ** (level - 1)), s.lockout.maxMs)
    // One of several parallel failures sets the lock; the others must not stack further lockouts.
    if (!await this.#c.setIfAbsent(K.lock(a), level, lockedForMs)) return outcome
    await this.#c.set(K.level(a), level, s.forgetMs)
    await this.#c.delete(K.attempts(a))
    outcome.level = level
    outcome.lockedForMs = lockedForMs
    return outcome
  }

  /** A successful login: the account's attempts, streak and back-off are forgotten (the address's failures are not). */
  async success (login: string): Promise<void> {
    const a = account(login)
    await this.#c.delete(K.attempts(a))
    await this.#c.delete(K.streak(a))
    await this.#c.delete(K.level(a))
  }

  /** Lifts a lockout and forgets the account's failures (for an administrator or a password reset). */
  async unlock (login: string): Promise<void> {
    await this.#c.delete(K.lock(account(login)))
    await this.success(login)
  }

  /** Refuses logins from the address of `ip` for `ms`. */
  async block (ip: string, ms: number): Promise<void> {
    await this.#c.set(K.block(clientAddress(ip)), 1, ms)
  }

  /** Lifts a block of the address of `ip` and forgets its failures. */
  async unblock (ip: string): Promise<void> {
    const addr = clientAddress(ip)
    await this.#c.delete(K.block(addr))
    await this.#c.delete(K.ip(addr))
  }

  /** The remaining lockout of an account in ms, or 0. */
  async lockedFor (login: string): Promise<number> {
    const lock = await this.#c.get(K.lock(account(login)))
    return lock === null ? 0 : lock.expiresAt - this.#now()
  }
}
