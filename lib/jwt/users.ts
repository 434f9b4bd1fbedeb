import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { clientAddress } from '../protection/ip.js'
import { isWellFormed } from '../core/unicode.js'
import { isStorableName, normalizeLogin, type UserRecord } from '../stores/types.js'
import { cleanEmail, isValidEmail, MAX_EMAIL_LENGTH } from './email.js'
import { problemMessage, type Passwords } from './passwords.js'
import type { CreateUserInput, LoginGuard, PublicUser, SetPasswordOptions, UserApi } from './types.js'

/** Longest username, in code points after NFKC. */
export const MAX_USERNAME_LENGTH = 254

/** The user without its password hash: what is handed to guards, extensions and callers. */
export function publicUser (user: UserRecord): PublicUser {
  const { passwordHash: _hash, ...rest } = user
  return rest
}

/** Whether `username` is acceptable: well-formed Unicode, 1-254 code points after NFKC and trimming, no control characters. */
export function isValidUsername (username: unknown): username is string {
  if (typeof username !== 'string' || username.length > MAX_USERNAME_LENGTH * 4 || !isWellFormed(username)) return false
  const n = username.normalize('NFKC').trim()
  if (n.length === 0 || [...n].length > MAX_USERNAME_LENGTH) return false
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return false
  }
  return true
}

function roleList (roles: unknown): string[] {
  const names = Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string' && r.length > 0 && r.length <= 100 && isStorableName(r)) : []
  if (!Array.isArray(roles) || names.length !== roles.length) throw new errors.GK_INVALID_REQUEST('roles must be an array of role names')
  return [...new Set(names)]
}

/** Accounts: creation with the password policy, role changes, password changes, disabling. */
export class Users implements UserApi {
  readonly #gk: Gatekeeper
  readonly #passwords: Passwords
  readonly #changed: (userId: string) => void
  readonly #sessionsEnded: (userId: string) => void
  readonly #guards: readonly LoginGuard[]

  /**
   * `changed` is told of every user disabled or given new roles here (the
   * `checkUser` cache drops them); `sessionsEnded` of every user whose
   * sessions were revoked here; `guards` are the login guards, which also
   * guard the check of the current password in {@link changePassword}.
   */
  constructor (gk: Gatekeeper, passwords: Passwords, hooks: { changed?: (userId: string) => void, sessionsEnded?: (userId: string) => void, guards?: readonly LoginGuard[] } = {}) {
    this.#gk = gk
    this.#passwords = passwords
    this.#changed = hooks.changed ?? (() => {})
    this.#sessionsEnded = hooks.sessionsEnded ?? (() => {})
    this.#guards = hooks.guards ?? []
  }

  /** Refuses a new password that breaks the policy or equals the username. */
  async #checkNew (password: string, username: string): Promise<void> {
    const problem = await this.#passwords.check(password)
    if (problem !== null) throw new errors.GK_INVALID_REQUEST(problemMessage(problem, this.#passwords.policy))
    // NIST SP 800-63B §3.1.1.2: refuse context-specific words, the username first of all.
    if (normalizeLogin(password) === normalizeLogin(username)) throw new errors.GK_INVALID_REQUEST('password must differ from the username')
  }

  async #revokeSessions (userId: string, reason: string): Promise<number> {
    const revoked = await this.#gk.store.refreshTokens.revokeAllForUser(userId, new Date(this.#gk.now()), reason)
    this.#sessionsEnded(userId)
    return revoked
  }

  async create (input: CreateUserInput, request?: FastifyRequest): Promise<PublicUser> {
    if (input === null || typeof input !== 'object') throw new errors.GK_INVALID_REQUEST('user must be an object')
    if (!isValidUsername(input.username)) throw new errors.GK_INVALID_REQUEST(`username must be 1-${MAX_USERNAME_LENGTH} characters of well-formed Unicode without control characters`)
    const roles = roleList(input.roles ?? [])
    let email: string | null = null
    if (input.email !== undefined && input.email !== null) {
      if (!isValidEmail(input.email)) throw new errors.GK_INVALID_REQUEST(`email must be an address such as ada@example.org (at most ${MAX_EMAIL_LENGTH} characters)`)
      email = cleanEmail(input.email)
    }
    let passwordHash: string | null = null
    if (input.password !== null) {
      await this.#checkNew(input.password, input.username)
      passwordHash = await this.#passwords.hash(input.password)
    }
    const user = await this.#gk.store.users.create({
      username: input.username.normalize('NFKC').trim(),
      passwordHash,
      roles,
      disabled: input.disabled === true,
      // Only set when given, so a custom users repository without emails keeps working.
      ...(email === null ? {} : { email, emailVerifiedAt: input.emailVerified === true ? new Date(this.#gk.now()) : null })
    })
    this.#gk.record({ type: 'user.created', outcome: 'success', userId: user.id, roles: user.roles }, request)
    return publicUser(user)
  }

  async setRoles (id: string, roles: string[], request?: FastifyRequest): Promise<PublicUser> {
    const list = roleList(roles)
    const before = await this.#gk.store.users.findById(id)
    if (before === null) throw new errors.GK_NOT_FOUND('user')
    const user = await this.#gk.store.users.update(id, { roles: list })
    if (user === null) throw new errors.GK_NOT_FOUND('user')
    this.#changed(id)
    // A session minted under the old roles must not refresh into new tokens with them.
    const revoked = await this.#revokeSessions(id, 'roles_changed')
    this.#gk.record({ type: 'user.roles_changed', outcome: 'success', userId: id, from: before.roles, to: user.roles, sessionsRevoked: revoked }, request)
    return publicUser(user)
  }

  async verifyPassword (id: string, password: string, request?: FastifyRequest): Promise<PublicUser | null> {
    const user = await this.#gk.store.users.findById(id)
    // Checking a password is a login attempt: the login guards (brute-force protection) count it with the logins.
    const guarded = user === null || request === undefined ? null : { request, attempt: { username: user.username, login: normalizeLogin(user.username) } }
    const guards = guarded === null ? [] : this.#guards
    let admitted = 0
    let verdict = false
    try {
      for (const g of guards) {
        await g.before?.(guarded!.request, guarded!.attempt)
        admitted++
      }
      const queue = request === undefined ? undefined : clientAddress(request.ip)
      const ok = user !== null && user.passwordHash !== null && !user.disabled
        ? await this.#passwords.verify(user.passwordHash, password, queue)
        : await this.#passwords.dummyVerify(queue)
      verdict = true
      if (!ok || user === null) {
        for (const g of guards) await g.onFailure?.(guarded!.request, guarded!.attempt, user === null ? null : publicUser(user))
        return null
      }
      for (const g of guards) await g.onSuccess?.(guarded!.request, publicUser(user))
      return publicUser(user)
    } catch (err) {
      if (!verdict) for (const g of guards.slice(0, admitted)) await g.onError?.(guarded!.request, guarded!.attempt, err)
      throw err
    }
  }

  async changePassword (id: string, current: string, next: string, request?: FastifyRequest): Promise<void> {
    const user = await this.verifyPassword(id, current, request)
    if (user === null) {
      this.#gk.record({ type: 'password.changed', outcome: 'failure', reason: 'GK_INVALID_CREDENTIALS', userId: id }, request)
      throw new errors.GK_INVALID_CREDENTIALS()
    }
    await this.#checkNew(next, user.username)
    const passwordHash = await this.#passwords.hash(next)
    await this.#gk.store.users.update(id, { passwordHash })
    const revoked = await this.#revokeSessions(id, 'password_change')
    this.#gk.record({ type: 'password.changed', outcome: 'success', userId: id, sessionsRevoked: revoked }, request)
  }

  async setPassword (id: string, password: string, options: SetPasswordOptions = {}): Promise<boolean> {
    const user = await this.#gk.store.users.findById(id)
    if (user === null) throw new errors.GK_NOT_FOUND('user')
    await this.#checkNew(password, user.username)
    const passwordHash = await this.#passwords.hash(password)
    if (options.claim !== undefined && !await options.claim()) return false
    if (await this.#gk.store.users.update(id, { passwordHash }) === null) throw new errors.GK_NOT_FOUND('user')
    this.#changed(id)
    const reason = options.reason ?? 'password_set'
    const revoked = await this.#revokeSessions(id, reason)
    this.#gk.record({ type: 'password.changed', outcome: 'success', userId: id, method: reason, sessionsRevoked: revoked }, options.request)
    return true
  }

  async disable (id: string, request?: FastifyRequest): Promise<PublicUser> {
    const user = await this.#gk.store.users.update(id, { disabled: true })
    if (user === null) throw new errors.GK_NOT_FOUND('user')
    this.#changed(id)
    const revoked = await this.#revokeSessions(id, 'disabled')
    this.#gk.record({ type: 'user.disabled', outcome: 'success', userId: id, sessionsRevoked: revoked }, request)
    return publicUser(user)
  }
}
