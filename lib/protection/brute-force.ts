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

/**
 * An attempt {@link BruteForce.admit} let through to the password check. It
 * holds a place in its account's and its address's budgets until it is
 * settled, exactly once, by one of its methods; a place never settled (a
 * crashed process) is given back after {@link PENDING_MS}.
 */
export interface Attempt {
  /** The canonical login the attempt named. */
  readonly login: string
  /** The client address as given. */
  readonly ip: string
  /** The password was wrong (or the account unknown or disabled): counts as a failure and locks where a limit is reached. */
  failure (): Promise<FailureOutcome>
  /** The password was right: the account's failures and back-off are forgotten (the address's are not). */
  success (): Promise<void>
  /** No verdict on the credential (the store failed, another guard refused): the attempt counts for nothing. */
  release (): Promise<void>
}

/** What {@link BruteForce.admit} decided: a refusal, or an attempt to settle. */
export type Admission = { refusal: Refusal, attempt: null } | { refusal: null, attempt: Attempt }

/** How long an attempt in flight holds its place when it is never settled (a process that died mid-login). */
export const PENDING_MS = 60_000

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

interface Places {
  a: string
  addr: string
  /** The ids of the places taken in the account's and the address's budgets. */
  id: string | null
  ipId: string | null
}

function refused (scope: Refusal['scope'], retryAfterMs: number): Admission {
  return { refusal: { scope, retryAfterMs: Math.max(0, retryAfterMs) }, attempt: null }
}

/** The n-th lockout (`level`) of a streak: `base × factor^(n−1)` capped at `lockout.max`, or `lockout.max` past the hard cap. */
function lockLength (s: BruteForceSettings, streak: number, level: number): number {
  return streak >= s.hardCap
    ? s.lockout.maxMs
    : Math.min(Math.round(s.lockout.baseMs * s.lockout.factor ** (level - 1)), s.lockout.maxMs)
}

/**
 * How hard counters should hold on to a key of brute-force protection (the
 * `priority` of `MemoryCounterOptions`; in Redis, keys above 0 are
 * kept out of reach of its eviction): active locks, address blocks and
 * back-off levels 2, failure streaks (the hard-cap history) 1, windows 0.
 */
export function bruteForcePriority (key: string): number {
  const kind = key.slice(0, 5)
  if (kind === 'bf:l:' || kind === 'bf:b:' || kind === 'bf:n:') return 2
  return kind === 'bf:s:' ? 1 : 0
}

// Login names are hashed into counter keys: bounded length, and no personal data in a shared backend.
function account (login: string): string {
  return createHash('sha256').update(login).digest('base64url').slice(0, 24)
}

const K = {
  failures: (a: string) => `bf:a:${a}`,
  pending: (a: string) => `bf:p:${a}`,
  streak: (a: string) => `bf:s:${a}`,
  level: (a: string) => `bf:n:${a}`,
  lock: (a: string) => `bf:l:${a}`,
  ip: (addr: string) => `bf:i:${addr}`,
  ipPending: (addr: string) => `bf:q:${addr}`,
  block: (addr: string) => `bf:b:${addr}`
}

/**
 * Brute-force protection of logins over a {@link CounterStore}.
 *
 * - An attempt takes a place in its account's and its address's budgets
 *   *before* the password is checked (check and take are one atomic step
 *   per budget), so a burst of parallel attempts cannot all slip past the
 *   limits: failures plus attempts in flight never exceed `account.max` per
 *   account nor `ip.max` per address. The attempt is then settled: a
 *   failure on the credential is counted, a success clears the account, and
 *   an attempt that got no verdict (the store failed) gives its place back.
 * - An attempt refused by a limit adds nothing to it, so retrying never
 *   pushes the end of a lockout or of a window further away.
 * - When an account reaches `account.max` failures in its window it is
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
   * `ip` may go on to the password check. Either refuses it, or lets it
   * through holding a place in the account's and the address's budgets
   * until the returned attempt is settled.
   */
  async admit (login: string, ip: string): Promise<Admission> {
    const addr = clientAddress(ip)
    const a = account(login)
    const s = this.#s
    const c = this.#c
    const now = this.#now()
    const block = await c.get(K.block(addr))
    if (block !== null) return refused('blocked', block.expiresAt - now)
    const lock = await c.get(K.lock(a))
    if (lock !== null) return refused('account', lock.expiresAt - now)
    const ipFailures = await c.hits(K.ip(addr), s.ip.windowMs)
    // Free again when the oldest failure leaves the window (attempts in flight may still add theirs).
    const ipFreeIn = (ipFailures.oldest ?? now) + s.ip.windowMs - now
    if (ipFailures.count >= s.ip.max) return refused('ip', ipFreeIn)
    const ipPlace = await c.take(K.ipPending(addr), PENDING_MS, s.ip.max - ipFailures.count)
    if (ipPlace.id === null) return refused('ip', ipFreeIn)
    const failures = await c.hits(K.failures(a), s.account.windowMs)
    const place = failures.count >= s.account.max ? null : await c.take(K.pending(a), PENDING_MS, s.account.max - failures.count)
    if (place === null || place.id === null) {
      await c.release(K.ipPending(addr), ipPlace.id)
      // Failures in flight fill the budget: if they fail, they set this lockout.
      const retry = failures.count >= s.account.max
        ? (failures.oldest as number) + s.account.windowMs - now
        : await this.#nextLockMs(a)
      return refused('account', retry)
    }
    return { refusal: null, attempt: this.#attempt(login, ip, { a, addr, id: place.id, ipId: ipPlace.id }) }
  }

  /**
   * An attempt that holds no place (for a login route that never called
   * {@link admit}): settling it counts the same, giving back nothing.
   */
  attempt (login: string, ip: string): Attempt {
    return this.#attempt(login, ip, { a: account(login), addr: clientAddress(ip), id: null, ipId: null })
  }

  #attempt (login: string, ip: string, p: Places): Attempt {
    let settled = false
    const once = (): boolean => {
      if (settled) return false
      settled = true
      return true
    }
    return Object.freeze({
      login,
      ip,
      failure: async () => {
        if (!once()) return { streak: 0, lockedForMs: null, level: 0, ipRefusedForMs: null }
        return await this.#failure(p)
      },
      success: async () => {
        if (!once()) return
        await this.#giveBack(p)
        await this.success(login)
      },
      release: async () => {
        if (once()) await this.#giveBack(p)
      }
    })
  }

  async #giveBack (p: Places): Promise<void> {
    if (p.ipId !== null) await this.#c.release(K.ipPending(p.addr), p.ipId)
    if (p.id !== null) await this.#c.release(K.pending(p.a), p.id)
  }

  /** How long the next lockout of account `a` would last. */
  async #nextLockMs (a: string): Promise<number> {
    const s = this.#s
    const streak = (await this.#c.get(K.streak(a)))?.value ?? 0
    const level = ((await this.#c.get(K.level(a)))?.value ?? 0) + 1
    return lockLength(s, streak + 1, level)
  }

  async #failure (p: Places): Promise<FailureOutcome> {
    const { a, addr } = p
    const s = this.#s
    const c = this.#c
    const now = this.#now()
    const streak = (await c.increment(K.streak(a), s.forgetMs, true)).value
    // The failure is added before the place is given back: for a moment it counts twice, never zero times.
    const ipHits = await c.hit(K.ip(addr), s.ip.windowMs, s.ip.max)
    if (p.ipId !== null) await c.release(K.ipPending(addr), p.ipId)
    const ipRefusedForMs = ipHits.count >= s.ip.max ? (ipHits.oldest as number) + s.ip.windowMs - now : null
    const outcome: FailureOutcome = { streak, lockedForMs: null, level: 0, ipRefusedForMs }
    const failures = await c.hit(K.failures(a), s.account.windowMs, s.account.max)
    if (p.id !== null) await c.release(K.pending(a), p.id)
    if (streak < s.hardCap && failures.count < s.account.max) return outcome
    const level = ((await c.get(K.level(a)))?.value ?? 0) + 1
    const lockedForMs = lockLength(s, streak, level)
    // One of several parallel failures sets the lock; the others must not stack further lockouts.
    if (!await c.setIfAbsent(K.lock(a), level, lockedForMs)) return outcome
    await c.set(K.level(a), level, s.forgetMs)
    await c.delete(K.failures(a))
    outcome.level = level
    outcome.lockedForMs = lockedForMs
    return outcome
  }

  /** A successful login: the account's failures, streak and back-off are forgotten (the address's are not). */
  async success (login: string): Promise<void> {
    const a = account(login)
    await this.#c.delete(K.failures(a))
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
