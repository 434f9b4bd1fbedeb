import type { FastifyReply, FastifyRequest } from 'fastify'
import type { UserRecord } from '../stores/types.js'

/** A user as the jwt plugin hands it out: the store record without its password hash. */
export type PublicUser = Omit<UserRecord, 'passwordHash'>

/** What `tokens.issue` needs of a user: its id and roles (a full record is fine). */
export type TokenSubject = Pick<UserRecord, 'id' | 'roles'> & Partial<Omit<UserRecord, 'id' | 'roles'>>

/** Extra, optional parts of an issued token. */
export interface IssueExtra {
  /** `'user'` (default) or `'application'` (client-credentials tokens). */
  kind?: 'user' | 'application'
  /** The scopes an application token is limited to. */
  scopes?: string[]
  /** The OAuth client the token is issued to: its `client_id` claim (RFC 9068 §2.2), checked by `checkUser`. */
  clientId?: string
}

/** The answer of `tokens.issue` and the body of a successful login. */
export interface IssuedToken {
  accessToken: string
  tokenType: 'Bearer'
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
}

/** `app.gatekeeper.users`: accounts with argon2id passwords. */
export interface UserApi {
  /** Checks the password policy, hashes, stores; `GK_CONFLICT` when the name is taken. */
  create (input: CreateUserInput, request?: FastifyRequest): Promise<PublicUser>
  /** Replaces a user's roles and revokes their refresh-token families; `GK_NOT_FOUND` for an unknown id. */
  setRoles (id: string, roles: string[], request?: FastifyRequest): Promise<PublicUser>
  /**
   * Changes a password after checking the current one (`GK_INVALID_CREDENTIALS`
   * when wrong) and the policy (`GK_INVALID_REQUEST`); revokes every refresh-token family.
   */
  changePassword (id: string, current: string, next: string, request?: FastifyRequest): Promise<void>
  /** Disables an account (logins then fail like a wrong password) and revokes its refresh-token families. */
  disable (id: string, request?: FastifyRequest): Promise<PublicUser>
}

/** Why a password was refused by the policy. */
export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'breached'

/** `app.gatekeeper.passwords`: the argon2id password hasher and policy. */
export interface PasswordApi {
  /** NFKC-normalises, checks the length bounds, hashes with argon2id (PHC string). */
  hash (password: string): Promise<string>
  /** Whether `password` matches the PHC `hash`; never throws for a malformed hash. */
  verify (hash: string, password: string): Promise<boolean>
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
 * check. Guards run in the order they were added.
 */
export interface LoginGuard {
  before? (request: FastifyRequest, login: LoginAttempt): void | Promise<void>
  /** After a failed attempt; `user` is `null` for an unknown username. */
  onFailure? (request: FastifyRequest, login: LoginAttempt, user: PublicUser | null): void | Promise<void>
  onSuccess? (request: FastifyRequest, user: PublicUser): void | Promise<void>
}

/** Adds fields to the login response (and may set cookies). */
export type LoginExtension = (user: PublicUser, request: FastifyRequest, reply: FastifyReply) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void

/** Runs on `POST /api/logout`. */
export type LogoutExtension = (request: FastifyRequest, reply: FastifyReply) => Promise<void> | void

/** `app.gatekeeper.jwt`: the hooks other plugins use. */
export interface JwtApi {
  addLoginGuard (guard: LoginGuard): void
  addLoginExtension (extension: LoginExtension): void
  addLogoutExtension (extension: LogoutExtension): void
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
   * `login.success` with `details`, and returns the response body.
   */
  completeLogin (user: PublicUser, request: FastifyRequest, reply: FastifyReply, details?: Record<string, unknown>): Promise<Record<string, unknown>>
}
