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
  /**
   * When the user last authenticated in this session (the login, or a later
   * step-up): the `auth_time` of its access tokens. `null` or absent for
   * families stored before it existed (the family's `createdAt` then stands in).
   */
  authTime?: Date | null
  /**
   * The RFC 8176 authentication methods of that authentication (`['pwd']`,
   * `['pwd', 'otp', 'mfa']`): the `amr` of its access tokens; `null` or absent when unknown.
   */
  amr?: string[] | null
  /**
   * The RFC 7638 thumbprint of the DPoP key the session is bound to (RFC 9449
   * §5): its refresh tokens are exchanged only with a proof by that key.
   * `null` (or absent, in a store that predates it) for an unbound session.
   */
  jkt?: string | null
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
  /** Default: the family's creation time. */
  authTime?: Date | null
  /** Default `null`. */
  amr?: string[] | null
  /** The DPoP key thumbprint the session is bound to; kept for the family's life. */
  jkt?: string | null
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
  /**
   * Records a new authentication in a session (a step-up): sets the family's
   * `authTime` and `amr`; `true` when the family exists and is not revoked.
   * Optional in the contract (only the `mfa` plugin's step-up needs it);
   * every bundled store has it.
   */
  reauthenticate? (familyId: string, authTime: Date, amr: readonly string[]): Promise<boolean>
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

/** The kinds of second factor {@link MfaFactorRepository} keeps (WebAuthn credentials have their own repository). */
export type MfaFactorKind = 'totp'

/** A second factor of a user other than a passkey: a TOTP (RFC 6238) authenticator. */
export interface MfaFactorRecord {
  id: string
  userId: string
  kind: MfaFactorKind
  /** The shared secret, sealed (AES-256-GCM, prefixed with the id of the key): never stored in the clear. */
  secret: string
  /** A name the user gave it (`'phone'`). */
  name: string
  /** Set once the user proved with a first code that their authenticator has the secret; only confirmed factors count. */
  confirmedAt: Date | null
  /** The highest time step a code was accepted for; a code of this step or an earlier one is never accepted again. */
  lastStep: number | null
  createdAt: Date
  lastUsedAt: Date | null
}

/** What `mfaFactors.create` takes. `id` is generated when omitted. */
export interface NewMfaFactor {
  id?: string
  userId: string
  kind: MfaFactorKind
  secret: string
  name?: string
}

/** Second factors other than passkeys (the `mfa` plugin). */
export interface MfaFactorRepository {
  /** Stores an unconfirmed factor; an id already taken raises `GK_CONFLICT`. */
  create (factor: NewMfaFactor): Promise<MfaFactorRecord>
  /** The factor with this id, or `null`. */
  findById (id: string): Promise<MfaFactorRecord | null>
  /** Every factor of a user (unconfirmed ones included), oldest first. */
  listByUser (userId: string): Promise<MfaFactorRecord[]>
  /**
   * Accepts a code of time step `step` for a factor, atomically: succeeds
   * only when `step` is greater than the factor's `lastStep` (or it has
   * none), then sets `lastStep` to `step` and `lastUsedAt` to `at`. Of any
   * number of concurrent calls with one step, exactly one succeeds (across
   * processes for shared stores): a code is accepted once. With `confirm`,
   * an unconfirmed factor becomes confirmed (`confirmedAt = at`); without
   * it, an unconfirmed factor is refused. `false` for an unknown factor.
   */
  acceptStep (id: string, step: number, at: Date, confirm?: boolean): Promise<boolean>
  /** Deletes a factor; `true` when one was deleted. */
  delete (id: string): Promise<boolean>
  /** Deletes every factor of a user of these kinds (all kinds when omitted); returns how many. */
  deleteForUser (userId: string, kinds?: readonly MfaFactorKind[]): Promise<number>
}

/** Recovery codes of users, stored only as hashes. */
export interface RecoveryCodeRepository {
  /**
   * Replaces every code of a user with these hashes, atomically: the old
   * codes stop working in the same step the new ones start. An empty list
   * removes them all.
   */
  replace (userId: string, hashes: readonly string[]): Promise<void>
  /**
   * Uses a code, atomically: of any number of concurrent calls with one user
   * and hash, exactly one gets `true` (across processes for shared stores);
   * a used or unknown code gives `false`.
   */
  consume (userId: string, hash: string, at: Date): Promise<boolean>
  /** How many unused codes a user has. */
  remaining (userId: string): Promise<number>
}

/** A WebAuthn credential (a passkey or a security key) registered to a user. */
export interface WebAuthnCredentialRecord {
  /** The credential id, base64url (as the authenticator made it). Unique. */
  id: string
  userId: string
  /** The credential's COSE public key, base64url. */
  publicKey: string
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number
  /** Transports the authenticator said it supports (`'internal'`, `'usb'`, `'hybrid'`, …), as hints for the browser. */
  transports: string[]
  /** Whether the credential may be synced to other devices (backup eligible, the BE flag). */
  backupEligible: boolean
  /** Whether the credential was backed up when last seen (the BS flag). */
  backedUp: boolean
  /** A name the user gave it (`'laptop'`). */
  name: string
  createdAt: Date
  lastUsedAt: Date | null
}

/** What `webauthnCredentials.create` takes. */
export interface NewWebAuthnCredential {
  id: string
  userId: string
  publicKey: string
  counter: number
  transports?: string[]
  backupEligible: boolean
  backedUp: boolean
  name: string
}

/** The outcome of {@link WebAuthnCredentialRepository.updateCounter}. */
export type CounterUpdate =
  /** The counter moved forward (or both it and the stored one are 0): stored, with `lastUsedAt` and `backedUp`. */
  | 'ok'
  /** The new counter is not above the stored one (WebAuthn §6.1.1): a possibly cloned authenticator; nothing was changed. */
  | 'regressed'
  /** No such credential. */
  | 'unknown'

/** WebAuthn credentials (the `mfa` plugin's passkeys). */
export interface WebAuthnCredentialRepository {
  /** Stores a credential; an id already registered (to anyone) raises `GK_CONFLICT`. */
  create (credential: NewWebAuthnCredential): Promise<WebAuthnCredentialRecord>
  /** The credential with this id (compared exactly), or `null`. */
  findById (id: string): Promise<WebAuthnCredentialRecord | null>
  /** Every credential of a user, oldest first. */
  listByUser (userId: string): Promise<WebAuthnCredentialRecord[]>
  /**
   * Records a use, atomically: stores `counter`, `backedUp` and
   * `lastUsedAt = at` only when `counter` is greater than the stored counter,
   * or both are 0 (an authenticator without a counter). Of concurrent calls
   * with one counter value, exactly one gets `'ok'`.
   */
  updateCounter (id: string, counter: number, at: Date, backedUp: boolean): Promise<CounterUpdate>
  /** Renames a credential of this user; `false` when the user has no such credential. */
  rename (id: string, userId: string, name: string): Promise<boolean>
  /** Deletes a credential of this user; `false` when the user has no such credential. */
  delete (id: string, userId: string): Promise<boolean>
  /** Deletes every credential of a user; returns how many. */
  deleteForUser (userId: string): Promise<number>
}

/** What a short-lived challenge is for. */
export type ChallengeKind = 'mfa_login' | 'webauthn_registration' | 'webauthn_authentication'

/**
 * A short-lived, single-use challenge: the pending second step of a login,
 * or the challenge of a WebAuthn ceremony. Stored by the hash of its value.
 */
export interface ChallengeRecord {
  id: string
  /** SHA-256 of the challenge value, hex. Unique. */
  hash: string
  kind: ChallengeKind
  /** The user it was made for, or `null` (a usernameless passkey login). */
  userId: string | null
  /** What the flow needs back (JSON-serialisable, never a secret of the user's). */
  data: Record<string, unknown>
  /** Failed answers so far. */
  attempts: number
  createdAt: Date
  expiresAt: Date
  /** Set once, when the challenge is used or spent by failed answers. */
  consumedAt: Date | null
}

/** What `challenges.create` takes. `id` is generated when omitted. */
export interface NewChallenge {
  id?: string
  hash: string
  kind: ChallengeKind
  userId?: string | null
  data?: Record<string, unknown>
  expiresAt: Date
}

/** Short-lived single-use challenges (the `mfa` plugin's login step and WebAuthn ceremonies). */
export interface ChallengeRepository {
  /** Stores a challenge; a taken `hash` raises `GK_CONFLICT`. */
  create (challenge: NewChallenge): Promise<ChallengeRecord>
  /** The live challenge (of this kind, unconsumed, `expiresAt > now`) with this hash, or `null`. */
  find (hash: string, kind: ChallengeKind, now: Date): Promise<ChallengeRecord | null>
  /**
   * Uses a challenge, atomically: of any number of concurrent calls with one
   * hash, exactly one gets the record (across processes for shared stores);
   * the others, and every call for an unknown, consumed or expired challenge
   * or one of another kind, get `null`.
   */
  consume (hash: string, kind: ChallengeKind, now: Date): Promise<ChallengeRecord | null>
  /**
   * Counts a failed answer to a live challenge, atomically, and spends it
   * (sets `consumedAt`) when its attempts reach `maxAttempts`. Returns the
   * attempts left (0 when now spent), or `null` when the challenge is not live.
   */
  fail (hash: string, kind: ChallengeKind, now: Date, maxAttempts: number): Promise<number | null>
  /** Deletes challenges whose expiry is at or before `now`; returns how many. */
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
  /**
   * TOTP factors. Optional in the contract, like the three below (only the
   * `mfa` plugin needs them, and refuses to start without them); every
   * bundled store has them.
   */
  mfaFactors?: MfaFactorRepository
  /** Hashed recovery codes (the `mfa` plugin). */
  recoveryCodes?: RecoveryCodeRepository
  /** WebAuthn credentials (the `mfa` plugin's passkeys). */
  webauthnCredentials?: WebAuthnCredentialRepository
  /** Short-lived single-use challenges (the `mfa` plugin). */
  challenges?: ChallengeRepository
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
