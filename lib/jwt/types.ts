import type { FastifyReply, FastifyRequest } from 'fastify'
import type { UserRecord } from '../stores/types.js'

/** A user as the jwt plugin hands it out: the store record without its password hash. */
export type PublicUser = Omit<UserRecord, 'passwordHash'>

/**
 * What `tokens.issue` needs of a user: its id and roles (a full record is
 * fine, and so are the read-only roles of `request.auth`).
 */
export type TokenSubject = Pick<UserRecord, 'id'> & { roles: readonly string[] } & Partial<Omit<UserRecord, 'id' | 'roles'>>

/** Extra, optional parts of an issued token. */
export interface IssueExtra {
  /** `'user'` (default) or `'application'` (client-credentials tokens). */
  kind?: 'user' | 'application'
  /** The scopes an application token is limited to. */
  scopes?: string[]
  /** The OAuth client the token is issued to: its `client_id` claim (RFC 9068 §2.2), checked by `checkUser`. */
  clientId?: string
  /** The session (refresh family) the token is issued for: its `sid` claim, checked by `checkUser`. */
  sessionId?: string
  /** How the user authenticated (RFC 8176 values such as `pwd`, `otp`, `hwk`, `mfa`): the `amr` claim. */
  amr?: readonly string[]
  /** When the user authenticated, in milliseconds since the epoch: the `auth_time` claim (in seconds). */
  authTime?: number
  /**
   * The RFC 7638 thumbprint of the client's DPoP key: the token is bound to
   * it (`cnf.jkt`, RFC 9449 §6.1) and its type is `'DPoP'`.
   */
  jkt?: string
}

/**
 * How a login authenticated the user, given to `completeLogin` and to login
 * extensions (the refresh plugin keeps it with the session, so refreshed
 * access tokens carry it too).
 */
export interface LoginAuthentication {
  /** RFC 8176 method values (`['pwd']`, `['pwd', 'otp', 'mfa']`); absent when unknown (an external provider's login). */
  amr?: readonly string[]
  /** Milliseconds since the epoch; default: now. */
  authTime?: number
}

/** Sessions that ended: one session (refresh family) by id, or every session of a user. */
export type SessionsEnded = { sessionId: string } | { userId: string }

/** The answer of `tokens.issue` and the body of a successful login. */
export interface IssuedToken {
  accessToken: string
  /** `'DPoP'` for a token bound to the client's key (RFC 9449 §5), else `'Bearer'`. */
  tokenType: 'Bearer' | 'DPoP'
  /** Lifetime in seconds. */
  expiresIn: number
}

/** The verified claims of an access token. */
export interface AccessTokenClaims {
  sub: string
  roles: string[]
  iat: number
  exp: number
  iss: string
  aud: string | string[]
  jti: string
  kind?: 'user' | 'application'
  scopes?: string[]
  /** The session (refresh family) the token was issued for; present with `checkUser` and the refresh plugin. */
  sid?: string
  /** RFC 8176 authentication methods of the login (`pwd`, `otp`, `hwk`, `mfa`, …). */
  amr?: string[]
  /** When the user authenticated (seconds since the epoch). */
  auth_time?: number
  [claim: string]: unknown
}

/** `app.gatekeeper.tokens`: access tokens. */
export interface TokenApi {
  /** Signs an access token for `user`. */
  issue (user: TokenSubject, extra?: IssueExtra): Promise<IssuedToken>
  /** Verifies a token and returns its claims; throws `GK_TOKEN_EXPIRED` or `GK_TOKEN_INVALID`. */
  verify (token: string): Promise<AccessTokenClaims>
}

/** What `users.create` takes. */
export interface CreateUserInput {
  username: string
  /** `null` for accounts without a password (external logins). */
  password: string | null
  roles?: string[]
  disabled?: boolean
  /** The user's email address (it may be the username); checked for shape, unique (`GK_CONFLICT`). */
  email?: string | null
  /** Whether `email` is known to be the user's already (seeded accounts): `emailVerifiedAt` is then set to now. */
  emailVerified?: boolean
}

/** Options of `users.setPassword`. */
export interface SetPasswordOptions {
  /** The request, for the audit event. */
  request?: FastifyRequest
  /** Why (default `'password_set'`): the refresh sessions' revoke reason and the audit event's `method`. */
  reason?: string
  /**
   * Runs after the policy check and hashing, right before the store is
   * written: the password is set only when it resolves `true` (the
   * `accounts` plugin consumes a reset token here, atomically, so that a
   * refused password never uses the token up).
   */
  claim?: () => Promise<boolean>
}

/** `app.gatekeeper.users`: accounts with argon2id passwords. */
export interface UserApi {
  /** Checks the password policy, hashes, stores; `GK_CONFLICT` when the name is taken. */
  create (input: CreateUserInput, request?: FastifyRequest): Promise<PublicUser>
  /** Replaces a user's roles and revokes their refresh-token families; `GK_NOT_FOUND` for an unknown id. */
  setRoles (id: string, roles: string[], request?: FastifyRequest): Promise<PublicUser>
  /**
   * Checks a user's password — to confirm a sensitive action by a signed-in
   * user — and answers the user when it matches, `null` when it does not (or
   * the user is unknown, disabled or has no password; the same work is done).
   * Given the request, the check is a login attempt: the login guards
   * (brute-force protection) count it with the account's and the address's
   * failures and may refuse it (`GK_ACCOUNT_LOCKED`).
   */
  verifyPassword (id: string, password: string, request?: FastifyRequest): Promise<PublicUser | null>
  /**
   * Changes a password after checking the current one (`GK_INVALID_CREDENTIALS`
   * when wrong) and the policy (`GK_INVALID_REQUEST`); revokes every refresh-token family.
   */
  changePassword (id: string, current: string, next: string, request?: FastifyRequest): Promise<void>
  /** Disables an account (logins then fail like a wrong password) and revokes its refresh-token families. */
  disable (id: string, request?: FastifyRequest): Promise<PublicUser>
  /**
   * Sets a new password without asking for the current one (a password
   * reset, an administrator): checks the policy (`GK_INVALID_REQUEST`),
   * hashes, stores, revokes every refresh-token family, drops the user from
   * `checkUser`'s cache and records `password.changed`. `GK_NOT_FOUND` for an
   * unknown id. Resolves `false` (and changes nothing) when `options.claim`
   * refuses.
   */
  setPassword (id: string, password: string, options?: SetPasswordOptions): Promise<boolean>
}

/** Why a password was refused by the policy. */
export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'breached'

/** `app.gatekeeper.passwords`: the argon2id password hasher and policy. */
export interface PasswordApi {
  /** NFKC-normalises, checks the length bounds, hashes with argon2id (PHC string). */
  hash (password: string): Promise<string>
  /**
   * Whether `password` matches the PHC `hash`; never throws for a malformed
   * hash. `queue` names who asks (the login route gives the client
   * address): argon2 work is shared out fairly between queues, so one
   * caller's burst waits its turn instead of delaying everybody else.
   */
  verify (hash: string, password: string, queue?: string): Promise<boolean>
  /** The policy problem of a new password, or `null` when it is acceptable. */
  check (password: string): Promise<PasswordProblem | null>
  /** Whether a stored hash was made with weaker parameters than the current ones. */
  needsRehash (hash: string): boolean
}

/** A login attempt as the guards see it. The password is never included. */
export interface LoginAttempt {
  /** The username as sent. */
  username: string
  /** Its canonical form (NFKC, trimmed, lower case): key counters by this. */
  login: string
}

/**
 * A login guard (brute-force protection is one). `before` may throw a `GK_`
 * error such as `GK_ACCOUNT_LOCKED` to refuse the attempt before any password
 * check. Guards run in the order they were added. After a `before` that
 * returned, exactly one of `onFailure`, `onSuccess` or `onError` follows.
 */
export interface LoginGuard {
  before? (request: FastifyRequest, login: LoginAttempt): void | Promise<void>
  /** After a failed attempt (a wrong password, an unknown or disabled account); `user` is `null` for an unknown username. */
  onFailure? (request: FastifyRequest, login: LoginAttempt, user: PublicUser | null): void | Promise<void>
  onSuccess? (request: FastifyRequest, user: PublicUser): void | Promise<void>
  /**
   * After an attempt `before` let through ended without a verdict on the
   * credential: the store failed (503), or a later guard refused it. What
   * `before` counted is given back: an outage is not a failed attempt.
   */
  onError? (request: FastifyRequest, login: LoginAttempt, error: unknown): void | Promise<void>
}

/** Adds fields to the login response (and may set cookies). `authentication` says how the user logged in (always given by the library). */
export type LoginExtension = (user: PublicUser, request: FastifyRequest, reply: FastifyReply, authentication?: LoginAuthentication) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void

/**
 * Runs on the password login route once the password is right, before the
 * login completes (the `mfa` plugin asks for a second factor here). Answers
 * `null` to let the login complete, or the body to send instead: the login
 * is then pending, no token is issued, and the login guards count the
 * attempt for nothing (a right password alone does not clear a lockout).
 */
export type LoginStep = (user: PublicUser, request: FastifyRequest, reply: FastifyReply) => Promise<Record<string, unknown> | null>

/**
 * One attempt at a credential other than the password (a second factor),
 * admitted by every login guard. Settle it exactly once.
 */
export interface GuardedAttempt {
  /** The answer was wrong: counts toward the account's and the address's lockout. */
  failure (): Promise<void>
  /** The answer was right: the account's failures are forgotten. */
  success (): Promise<void>
  /** No verdict (the store failed, the challenge was gone): counts for nothing. */
  release (error?: unknown): Promise<void>
}

/** Runs after the register route created an account (the `accounts` plugin mails the verification link here). */
export type RegisterExtension = (user: PublicUser, request: FastifyRequest, reply: FastifyReply) => Promise<void> | void

/**
 * Narrows the roles a user's access tokens carry (at login, at refresh and,
 * with `checkUser`, on every request): given the user record and the roles
 * so far, returns the roles to use. Application tokens are never filtered.
 */
export type RoleFilter = (user: TokenSubject, roles: readonly string[]) => readonly string[]

/** Runs on `POST /api/logout`. */
export type LogoutExtension = (request: FastifyRequest, reply: FastifyReply) => Promise<void> | void

/** `app.gatekeeper.jwt`: the hooks other plugins use. */
export interface JwtApi {
  addLoginGuard (guard: LoginGuard): void
  addLoginExtension (extension: LoginExtension): void
  addLogoutExtension (extension: LogoutExtension): void
  addRegisterExtension (extension: RegisterExtension): void
  /** Adds a {@link LoginStep}; steps run in the order they were added, the first body answered wins. */
  addLoginStep (step: LoginStep): void
  /**
   * Runs the login guards' admission for an attempt at one of `user`'s
   * credentials other than the password (a second factor): throws
   * `GK_ACCOUNT_LOCKED` when brute-force protection refuses it, else returns
   * the attempt to settle.
   */
  guardAttempt (request: FastifyRequest, user: PublicUser): Promise<GuardedAttempt>
  /** Adds a {@link RoleFilter}; filters run in the order they were added. */
  addRoleFilter (filter: RoleFilter): void
  /** Drops what `checkUser` knows of a user, after a change made outside `app.gatekeeper.users`; a no-op without `checkUser`. */
  forgetUser (userId: string): void
  /** Throws `GK_FORBIDDEN` when an unsafe (POST, PUT, PATCH, DELETE…) request fails the CSRF defence. */
  checkCsrf (request: FastifyRequest): void
  /**
   * Throws `GK_FORBIDDEN` when the browser says an unsafe request comes from
   * another site (`Sec-Fetch-Site`, `Origin`), whether or not it carries
   * cookies; clients that are not browsers send neither and pass.
   */
  checkOrigin (request: FastifyRequest): void
  /** Sets the access-token cookie for `issued` when the cookie transport is on (login and every refresh do); does nothing otherwise. */
  setAccessCookie (reply: FastifyReply, issued: IssuedToken): void
  /** The `iss` of access tokens (the `issuer` option). */
  readonly issuer: string
  /** The path of the JWK Set (`/.well-known/jwks.json`), or `null` when tokens are signed with a secret. */
  readonly jwksPath: string | null
  /** The access-token cookie name, or `null` when the cookie transport is off. */
  readonly cookieName: string | null
  /** Whether `checkUser` is on: tokens are checked against the store on every request. */
  readonly checkUser: boolean
  /**
   * Finishes a login for a user whose credentials another plugin checked (an
   * OpenID Connect callback): runs success guards, issues the access token,
   * runs login extensions (refresh tokens), sets the access cookie, records
   * `login.success` with `details`, and returns the response body
   * (`{ accessToken, tokenType, expiresIn, ... }`): return it from the handler,
   * as nothing is sent otherwise.
   */
  completeLogin (user: PublicUser, request: FastifyRequest, reply: FastifyReply, details?: Record<string, unknown>, authentication?: LoginAuthentication): Promise<Record<string, unknown>>
  /**
   * Tells `checkUser` that sessions ended (refresh families revoked), so the
   * access tokens issued for them (their `sid`) are refused at once on this
   * instance and, with the core's `redis` option, on the others. The
   * library's logout, logout-all, session revocation, password change, role
   * change, disabling and refresh-token reuse detection call it; call it
   * when you revoke families in the store yourself. Does nothing without `checkUser`.
   */
  endSessions (ended: SessionsEnded): void
  /** @internal Applies sessions ended on another instance (from the Redis bus): forgets them here, publishes nothing. */
  forgetSessions (ended: SessionsEnded): void
}
