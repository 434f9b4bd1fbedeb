/**
 * The storage contract every gatekeeper plugin shares.
 *
 * It is narrow and auth-specific on purpose: a user may bring their own
 * `users` repository over an existing database and take the rest from a
 * store of ours (`{ ...sqliteStore(opts), users: myUsers }`).
 *
 * Rules for every implementation (checked by `storeConformance` from `fastify-gatekeeper/testing/store`):
 * - Dates go in and come out as `Date` objects; ids are strings.
 * - A unique value already taken raises `GK_CONFLICT`, never a driver error.
 * - A backend that cannot be reached raises `GK_STORE_UNAVAILABLE`.
 * - Records returned are copies: mutating one never changes the store.
 * - A username that is not {@link isStorableName} (ill-formed Unicode, NUL)
 *   raises `GK_INVALID_REQUEST` on create and rename, and finds nobody.
 */

import { errors } from '../core/errors.js'
import { isWellFormed } from '../core/unicode.js'

/** A user account as the store keeps it. */
export interface UserRecord {
  id: string
  /** The login name as entered at creation (display form). */
  username: string
  /** PHC-format argon2id hash, or `null` for accounts without a password (external logins). */
  passwordHash: string | null
  roles: string[]
  disabled: boolean
  /**
   * The user's email address as entered (it may also be the username), or
   * `null`. Unique case-insensitively after normalisation (see
   * {@link normalizeEmail}). Optional in the type for users repositories
   * written before it existed; every bundled store returns it.
   */
  email?: string | null
  /**
   * When the library itself verified that the user controls their email
   * address (a mailed token was redeemed), or `null`/absent when it never did.
   * A provider's `email_verified` does not set it. The oauth2 plugin links an
   * identity automatically only to a user with this set (and no password).
   */
  emailVerifiedAt?: Date | null
  createdAt: Date
  updatedAt: Date
}

/** What `users.create` takes. `id` is generated when omitted. */
export interface NewUser {
  id?: string
  username: string
  passwordHash: string | null
  roles?: string[]
  disabled?: boolean
  /** Default `null`. An address another user has raises `GK_CONFLICT`. */
  email?: string | null
  /** Default `null`. */
  emailVerifiedAt?: Date | null
}

/** The fields `users.update` may change. */
export type UserPatch = Partial<Pick<UserRecord, 'username' | 'passwordHash' | 'roles' | 'disabled' | 'email' | 'emailVerifiedAt'>>

/** User accounts. */
export interface UserRepository {
  /**
   * Creates a user. Usernames are unique case-insensitively after Unicode
   * NFKC normalisation (see {@link normalizeLogin}); a taken name raises
   * `GK_CONFLICT`.
   */
  create (user: NewUser): Promise<UserRecord>
  /** The user with this id, or `null`. */
  findById (id: string): Promise<UserRecord | null>
  /** The user whose normalised username equals the normalised `login`, or `null`. */
  findByLogin (login: string): Promise<UserRecord | null>
  /**
   * The user whose normalised email equals the normalised `email`, or `null`.
   * Optional in the contract (only the `accounts` plugin needs it, and
   * refuses to start without it); every bundled store has it.
   */
  findByEmail? (email: string): Promise<UserRecord | null>
  /**
   * Changes the given fields and bumps `updatedAt`; `null` when the user does
   * not exist. Renaming onto a taken username, or setting an email another
   * user has, raises `GK_CONFLICT` and changes nothing.
   */
  update (id: string, patch: UserPatch): Promise<UserRecord | null>
  /** Deletes a user; `true` when one was deleted. */
  delete (id: string): Promise<boolean>
}

/** An API key as stored: never the key itself, only its hash. */
export interface ApiKeyRecord {
  id: string
  /** The user (or service account) the key acts for. */
  ownerId: string
  name: string
  /** The visible start of the key (prefix and first characters), for people to recognise it. */
  start: string
  /** HMAC-SHA256 (with a pepper) or SHA-256 of the key, hex. Unique. */
  hash: string
  scopes: string[]
  expiresAt: Date | null
  revokedAt: Date | null
  createdAt: Date
  lastUsedAt: Date | null
  /** An optional per-key rate limit (requests per window). */
  rateLimit: { max: number, timeWindow: number } | null
}

/** What `apiKeys.create` takes. `id` is generated when omitted. */
export interface NewApiKey {
  id?: string
  ownerId: string
  name: string
  start: string
  hash: string
  scopes?: string[]
  expiresAt?: Date | null
  rateLimit?: { max: number, timeWindow: number } | null
}

/** API keys. */
export interface ApiKeyRepository {
  /** Stores a key record; a duplicate `hash` or `id` raises `GK_CONFLICT`. */
  create (key: NewApiKey): Promise<ApiKeyRecord>
  /** The record with this hash (revoked and expired ones included), or `null`. */
  findByHash (hash: string): Promise<ApiKeyRecord | null>
  /** The record with this id, or `null`. */
  findById (id: string): Promise<ApiKeyRecord | null>
  /** Every key of an owner (revoked and expired included), oldest first. */
  listByOwner (ownerId: string): Promise<ApiKeyRecord[]>
  /** Sets `revokedAt` once; `true` when the key existed and was not yet revoked. */
  revoke (id: string, at: Date): Promise<boolean>
  /**
   * Lowers the expiry to `at` (never raises it: an earlier expiry wins);
   * `true` when the key exists. Used by rotation with overlap.
   */
  expire (id: string, at: Date): Promise<boolean>
  /** Records the last use. Best effort; callers debounce it. */
  touch (id: string, at: Date): Promise<void>
}

/** One login session: a family of refresh tokens, each replacing the one before. */
export interface RefreshFamilyRecord {
  id: string
  userId: string
  createdAt: Date
  /** When a token of the family was last issued. */
  lastUsedAt: Date
  /** Absolute expiry of the whole family. */
  expiresAt: Date
  revokedAt: Date | null
  /** Why it was revoked: `'logout'`, `'reuse'`, `'logout_all'`, `'password_change'`, … */
  revokeReason: string | null
  ip: string | null
  userAgent: string | null
}

/** One refresh token, stored only as a hash. */
export interface RefreshTokenRecord {
  id: string
  /** SHA-256 of the token, hex. Unique. */
  hash: string
  familyId: string
  userId: string
  /** The token this one replaced, `null` for the first of a family. */
  parentId: string | null
  createdAt: Date
  /** When this token stops being accepted (idle expiry, never past the family's). */
  expiresAt: Date
  /** Set once, when the token is exchanged for its successor. */
  consumedAt: Date | null
  /** The id of the successor, once consumed. */
  replacedBy: string | null
}

/** A refresh token to store. */
export interface NewRefreshToken {
  id?: string
  hash: string
  familyId: string
  userId: string
  parentId: string | null
  expiresAt: Date
}

/** A new family (a login) with its first token. */
export interface NewRefreshFamily {
  id?: string
  userId: string
  expiresAt: Date
  ip?: string | null
  userAgent?: string | null
}

/** The outcome of {@link RefreshTokenRepository.consume}. */
export type ConsumeResult =
  /** The token was active and is now consumed; the successor (when given) is stored. */
  | { status: 'ok', token: RefreshTokenRecord, family: RefreshFamilyRecord, successor: RefreshTokenRecord | null }
  /** The token had already been consumed: a replay, or a lost response inside the grace window. */
  | { status: 'reused', token: RefreshTokenRecord, family: RefreshFamilyRecord }
  /** No such token, or it is expired, or its family is revoked or expired. */
  | { status: 'unknown' }

/** Refresh tokens and their families (sessions). */
export interface RefreshTokenRepository {
  /** Creates a family and its first token, atomically. */
  createFamily (family: NewRefreshFamily, first: Omit<NewRefreshToken, 'familyId' | 'userId' | 'parentId'>): Promise<{ family: RefreshFamilyRecord, token: RefreshTokenRecord }>
  /**
   * Atomically exchanges a token: exactly one of any number of concurrent
   * calls with the same hash gets `ok` (on every store, across processes for
   * shared stores); the others get `reused`. On `ok` the successor, when
   * given, is stored in the same transaction, `replacedBy` is set and the
   * family's `lastUsedAt` moves to `now`. A token that is expired, or whose
   * family is revoked or expired, gives `unknown` unless it was already
   * consumed (then `reused`, so replays are always seen).
   */
  consume (hash: string, now: Date, successor?: Omit<NewRefreshToken, 'familyId' | 'userId' | 'parentId'>): Promise<ConsumeResult>
  /** The token with this hash (in any state), or `null`. */
  findByHash (hash: string): Promise<RefreshTokenRecord | null>
  /** The token with this id (in any state), or `null`. */
  findById (id: string): Promise<RefreshTokenRecord | null>
  /** The family with this id (in any state), or `null`. */
  findFamily (id: string): Promise<RefreshFamilyRecord | null>
  /** Revokes one family; `true` when it existed and was not yet revoked. */
  revokeFamily (familyId: string, at: Date, reason: string): Promise<boolean>
  /** Revokes every active family of a user; returns how many. */
  revokeAllForUser (userId: string, at: Date, reason: string): Promise<number>
  /** The user's families that are neither revoked nor expired at `now`, newest first. */
  listActive (userId: string, now: Date): Promise<RefreshFamilyRecord[]>
  /**
   * Deletes families whose absolute expiry is at or before `now` (with their
   * tokens) and tokens whose own expiry is at or before `now`; returns how
   * many tokens were deleted.
   */
  deleteExpired (now: Date): Promise<number>
}

/** A client of the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) as it is stored. */
export interface OAuthClientRecord {
  /** The public client identifier (`client_id`). */
  id: string
  /** A human-readable name, for listings and audit. */
  name: string
  /** Hex hash of the current secret (never the secret itself). */
  secretHash: string
  /** Hex hash of the secret before the last rotation, valid until `previousSecretExpiresAt`. */
  previousSecretHash: string | null
  /** When the previous secret stops working; `null` when there is none. */
  previousSecretExpiresAt: Date | null
  /** The scopes this client may ask for; a token carries a subset of them. */
  scopes: string[]
  createdAt: Date
  /** Set when the client was revoked; a revoked client never gets a token again. */
  revokedAt: Date | null
}

/** The fields {@link OAuthClientRepository.update} may change. */
export type OAuthClientPatch = Partial<Pick<OAuthClientRecord, 'name' | 'secretHash' | 'previousSecretHash' | 'previousSecretExpiresAt' | 'scopes' | 'revokedAt'>>

/** Clients of the client-credentials grant (the `oauth2` plugin). */
export interface OAuthClientRepository {
  /** Stores a new client; an id already taken raises `GK_CONFLICT`. */
  create (client: OAuthClientRecord): Promise<OAuthClientRecord>
  /** The client with this id (revoked ones included), or `null`. */
  findById (id: string): Promise<OAuthClientRecord | null>
  /** Changes the given fields; `null` when the client does not exist. */
  update (id: string, patch: OAuthClientPatch): Promise<OAuthClientRecord | null>
  /** Every client, revoked ones included, oldest first. */
  list (): Promise<OAuthClientRecord[]>
}

/** An external identity (an OpenID provider's `iss` + `sub`) linked to a local user. */
export interface IdentityRecord {
  /** The provider's issuer identifier, as in the ID token's `iss`. */
  issuer: string
  /** The user's id at that provider, as in the ID token's `sub`. */
  subject: string
  /** The local user it logs in as. */
  userId: string
  /** The provider's name in the plugin options (`'google'`, `'corp'`). */
  provider: string
  createdAt: Date
}

/** External identities linked to local users (the `oauth2` plugin's OpenID Connect login). */
export interface IdentityRepository {
  /**
   * Links an identity. An `issuer` + `subject` pair already linked raises
   * `GK_CONFLICT`, atomically: of any number of concurrent calls for one
   * pair, exactly one succeeds (across processes for shared stores).
   */
  create (identity: IdentityRecord): Promise<IdentityRecord>
  /** The link of this `issuer` + `subject` (compared exactly, case-sensitively), or `null`. */
  find (issuer: string, subject: string): Promise<IdentityRecord | null>
  /** Every identity linked to a user, oldest first. */
  listByUser (userId: string): Promise<IdentityRecord[]>
  /** Removes a link; `true` when one was removed. */
  delete (issuer: string, subject: string): Promise<boolean>
}

/** What a one-time account token is for (the `accounts` plugin's mails). */
export type AccountTokenKind = 'password_reset' | 'email_verification' | 'email_change' | 'email_revert'

/** A one-time token of the account flows (password reset, email verification and change), stored only as a hash. */
export interface AccountTokenRecord {
  id: string
  /** SHA-256 of the token, hex. Unique. */
  hash: string
  userId: string
  kind: AccountTokenKind
  /**
   * The address the token is about: the one it was mailed to for a reset or a
   * verification, the new address for a change, the previous one for a revert.
   */
  email: string | null
  createdAt: Date
  expiresAt: Date
  /** Set once, when the token is used. */
  consumedAt: Date | null
}

/** A token to store. `id` is generated when omitted. */
export interface NewAccountToken {
  id?: string
  hash: string
  userId: string
  kind: AccountTokenKind
  email?: string | null
  expiresAt: Date
}

/** One-time tokens of the account flows (the `accounts` plugin). */
export interface AccountTokenRepository {
  /**
   * Stores a token. A user has at most one unconsumed token of each kind
   * except `email_revert`: a new one replaces the previous one atomically
   * (of concurrent calls for one user and kind, exactly one token remains
   * usable), so a newer mail invalidates the link of an older one. Revert
   * tokens accumulate: a later change must not cancel the way back from an
   * earlier one. A taken `hash` raises `GK_CONFLICT`.
   */
  create (token: NewAccountToken): Promise<AccountTokenRecord>
  /** The token with this hash in any state, or `null`. */
  findByHash (hash: string): Promise<AccountTokenRecord | null>
  /**
   * Uses a token, atomically: of any number of concurrent calls with one
   * hash, exactly one gets the record (across processes for shared stores);
   * the others, and every call for an unknown, consumed or expired token
   * (`expiresAt <= now`) or one of another `kind`, get `null`.
   */
  consume (hash: string, kind: AccountTokenKind, now: Date): Promise<AccountTokenRecord | null>
  /** Deletes the user's unconsumed tokens of these kinds; returns how many. */
  revokeForUser (userId: string, kinds: readonly AccountTokenKind[]): Promise<number>
  /** Deletes tokens whose expiry is at or before `now` (consumed or not); returns how many. */
  deleteExpired (now: Date): Promise<number>
}

/** The storage adapter every gatekeeper plugin shares. */
export interface GatekeeperStore {
  users: UserRepository
  apiKeys: ApiKeyRepository
  refreshTokens: RefreshTokenRepository
  /**
   * OAuth 2.0 clients. Optional in the contract (only the `oauth2` plugin's
   * client-credentials grant needs it, and refuses to start without it);
   * every bundled store has it.
   */
  oauthClients?: OAuthClientRepository
  /**
   * Links of external identities to users. Optional in the contract (only
   * the `oauth2` plugin's OpenID Connect login needs it, and refuses to
   * start without it); every bundled store has it.
   */
  identities?: IdentityRepository
  /**
   * One-time tokens of password resets and email verification and change.
   * Optional in the contract (only the `accounts` plugin needs it, and
   * refuses to start without it); every bundled store has it.
   */
  accountTokens?: AccountTokenRepository
  /** Optional asynchronous set-up (migrations); the core awaits it at registration. */
  init? (): Promise<void>
  /** Releases connections and file handles. Safe to call twice. */
  close (): Promise<void>
}

/**
 * The canonical form of a login name used for uniqueness and lookups, the
 * same on every store because it is computed here, before any driver sees
 * it: Unicode NFKC (compatibility forms such as full-width letters and
 * ligatures fold), surrounding white space trimmed, then lower case
 * (`toLowerCase`, Unicode's default case mapping, the same in every
 * locale). Only for names that pass {@link isStorableName}.
 */
export function normalizeLogin (login: string): string {
  return login.normalize('NFKC').trim().toLowerCase()
}

/**
 * The canonical form of an email address used for uniqueness and lookups:
 * Unicode NFKC, then lower case, trimmed. (The local part is case-sensitive
 * in RFC 5321, but no mail provider in use treats it so, and two accounts
 * for `Ada@` and `ada@` would be one person's.)
 */
export function normalizeEmail (email: string): string {
  return email.normalize('NFKC').trim().toLowerCase()
}

/**
 * Whether a name (a username, a key or client name) can be stored and
 * compared alike by every store: well-formed Unicode (no lone surrogate,
 * which each driver mangles its own way) and no NUL (which Postgres
 * cannot store).
 */
export function isStorableName (name: string): boolean {
  return typeof name === 'string' && isWellFormed(name) && !name.includes('\u0000')
}

/** Throws `GK_INVALID_REQUEST` unless {@link isStorableName}; stores call it before writing a username. */
export function assertStorableName (name: string, what = 'username'): void {
  if (!isStorableName(name)) throw new errors.GK_INVALID_REQUEST(`${what} must be well-formed Unicode without NUL characters`)
}
