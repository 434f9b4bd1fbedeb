import { randomBytes } from 'node:crypto'
import argon2 from 'argon2'
import { errors } from '../core/errors.js'
import { isWellFormed } from '../core/unicode.js'
import { COMMON_PASSWORDS } from './common-passwords.js'
import { HashGate } from './hash-gate.js'
import type { PasswordApi, PasswordProblem } from './types.js'

/** argon2id cost parameters. */
export interface Argon2Params {
  /** KiB of memory. */
  memoryCost: number
  /** Iterations. */
  timeCost: number
  /** Lanes. */
  parallelism: number
}

/** The OWASP Password Storage Cheat Sheet minimum for argon2id: never go below it. */
export const OWASP_ARGON2: Readonly<Argon2Params> = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 })

/** The normalised password policy. */
export interface PasswordPolicy {
  /** Minimum length in Unicode code points, after NFKC (at least 8). */
  minLength: number
  /** Maximum length in code points, after NFKC (at least 64); longer is refused before hashing. */
  maxLength: number
  argon2: Readonly<Argon2Params>
  /** Extra words refused as passwords (your product's name, ...), compared case-insensitively. */
  blocklist: ReadonlySet<string>
  /** Whether a password appears in a breach corpus (for example a k-anonymity range query). */
  isBreached?: (password: string) => boolean | Promise<boolean>
}

const PHC = /^\$(argon2(?:id|i|d))\$v=(\d{1,4})\$([a-z0-9=,]{1,100})\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/

/** The NFKC form of a password (NIST SP 800-63B §5.1.1.2); nothing is ever truncated. */
export function normalizePassword (password: string): string {
  return password.normalize('NFKC')
}

/** Length in Unicode code points, as NIST counts it. */
export function codePoints (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    // A high surrogate followed by a low one is a single code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    n++
  }
  return n
}

/** Parses the parameters of an argon2 PHC string; `null` when it is not one. */
export function parsePhc (hash: string): { type: string, version: number } & Argon2Params | null {
  if (hash.length > 512) return null
  const m = PHC.exec(hash)
  if (m === null) return null
  // Parameters come in any order (the reference encoder writes m,t,p; node-argon2 writes m,p,t).
  const params = new Map<string, number>()
  for (const pair of (m[3]).split(',')) {
    const [k, v] = pair.split('=')
    if (k === undefined || v === undefined || !/^\d{1,10}$/.test(v)) return null
    params.set(k, Number(v))
  }
  const memoryCost = params.get('m')
  const timeCost = params.get('t')
  const parallelism = params.get('p')
  if (memoryCost === undefined || timeCost === undefined || parallelism === undefined) return null
  return { type: m[1], version: Number(m[2]), memoryCost, timeCost, parallelism }
}

/**
 * argon2id hashing (on the libuv threadpool, so logins never block the event
 * loop) and the password policy.
 */
export class Passwords implements PasswordApi {
  readonly policy: PasswordPolicy
  #dummy: Promise<string> | null = null
  readonly #gate = new HashGate()

  constructor (policy: PasswordPolicy) {
    this.policy = policy
  }

  /**
   * A hash of a random password with the current parameters: unknown users
   * are "verified" against it so they cost as much time as known ones.
   */
  dummyHash (): Promise<string> {
    if (this.#dummy === null) {
      this.#dummy = this.#gate.run(async () => await argon2.hash(randomBytes(24).toString('base64'), { type: argon2.argon2id, ...this.policy.argon2 }))
    }
    return this.#dummy
  }

  /** Runs one verification that always fails, taking as long as a real one (`queue`: as for {@link verify}). */
  async dummyVerify (queue?: string): Promise<false> {
    const dummy = await this.dummyHash()
    await this.#gate.run(async () => await argon2.verify(dummy, 'not the password'), queue)
    return false
  }

  /** Whether a normalised password is within the length bounds (checked before any hashing). */
  #withinBounds (normalized: string): boolean {
    const n = codePoints(normalized)
    return n >= this.policy.minLength && n <= this.policy.maxLength
  }

  async hash (password: string): Promise<string> {
    if (typeof password !== 'string') throw new errors.GK_INVALID_REQUEST('password must be a string')
    // Refuse oversized input before normalising or hashing it (a 1 MB password is a DoS, not a password).
    if (password.length > this.policy.maxLength * 4) throw new errors.GK_INVALID_REQUEST('password is too long')
    // A lone surrogate has no UTF-8 form: argon2 would hash a different password than the one given.
    if (!isWellFormed(password)) throw new errors.GK_INVALID_REQUEST('password must be well-formed Unicode')
    const normalized = normalizePassword(password)
    if (!this.#withinBounds(normalized)) {
      throw new errors.GK_INVALID_REQUEST(`password must be ${this.policy.minLength} to ${this.policy.maxLength} characters`)
    }
    return await this.#gate.run(async () => await argon2.hash(normalized, { type: argon2.argon2id, ...this.policy.argon2 }))
  }

  /**
   * Hashes an already verified password with the current parameters, without
   * the policy (an old password may predate a stricter minimum): used to
   * upgrade a weaker stored hash at login.
   */
  async rehash (password: string): Promise<string> {
    const normalized = normalizePassword(password)
    return await this.#gate.run(async () => await argon2.hash(normalized, { type: argon2.argon2id, ...this.policy.argon2 }))
  }

  async verify (hash: string, password: string, queue?: string): Promise<boolean> {
    if (typeof password !== 'string' || password.length > this.policy.maxLength * 4 || !isWellFormed(password)) return this.dummyVerify(queue)
    const normalized = normalizePassword(password)
    if (codePoints(normalized) > this.policy.maxLength || typeof hash !== 'string' || parsePhc(hash) === null) {
      return this.dummyVerify(queue)
    }
    try {
      return await this.#gate.run(async () => await argon2.verify(hash, normalized), queue)
    } catch {
      return false
    }
  }

  needsRehash (hash: string): boolean {
    const p = parsePhc(hash)
    if (p === null) return false
    const want = this.policy.argon2
    return p.type !== 'argon2id' || p.version < 0x13 ||
      p.memoryCost < want.memoryCost || p.timeCost < want.timeCost || p.parallelism < want.parallelism
  }

  async check (password: string): Promise<PasswordProblem | null> {
    if (typeof password !== 'string') return 'too_short'
    if (password.length > this.policy.maxLength * 4) return 'too_long'
    const normalized = normalizePassword(password)
    const n = codePoints(normalized)
    if (n < this.policy.minLength) return 'too_short'
    if (n > this.policy.maxLength) return 'too_long'
    const folded = normalized.toLowerCase()
    if (COMMON_PASSWORDS.has(folded) || this.policy.blocklist.has(folded)) return 'common'
    if (this.policy.isBreached !== undefined) {
      let breached = false
      try {
        breached = await this.policy.isBreached(normalized)
      } catch {
        // A breach service that is down must not block sign-ups; the other rules still hold.
        breached = false
      }
      if (breached === true) return 'breached'
    }
    return null
  }
}

/** The message of a policy refusal; says which rule, never echoes the password. */
export function problemMessage (problem: PasswordProblem, policy: PasswordPolicy): string {
  switch (problem) {
    case 'too_short': return `password must be at least ${policy.minLength} characters`
    case 'too_long': return `password must be at most ${policy.maxLength} characters`
    case 'common': return 'password is too common; choose another'
    case 'breached': return 'password appears in a known data breach; choose another'
  }
}
