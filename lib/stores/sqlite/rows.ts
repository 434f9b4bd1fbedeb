import { recordOf, stringsOf } from '../../core/json.js'
import { accountTokenKind, challengeKind, mfaFactorKind } from '../decode.js'
import type { AccountTokenRecord, ApiKeyRecord, ChallengeRecord, IdentityRecord, MfaFactorRecord, OAuthClientRecord, RefreshFamilyRecord, RefreshTokenRecord, UserRecord, WebAuthnCredentialRecord } from '../types.js'

/** A row of `gk_users`. */
export interface UserRow {
  id: string
  username: string
  login: string
  password_hash: string | null
  roles: string
  disabled: number
  email: string | null
  email_normalized: string | null
  email_verified_at: number | null
  created_at: number
  updated_at: number
}

/** A row of `gk_api_keys`. */
export interface ApiKeyRow {
  id: string
  owner_id: string
  name: string
  start: string
  hash: string
  scopes: string
  expires_at: number | null
  revoked_at: number | null
  created_at: number
  last_used_at: number | null
  rate_limit_max: number | null
  rate_limit_window: number | null
}

/** A row of `gk_refresh_families`. */
export interface FamilyRow {
  id: string
  user_id: string
  created_at: number
  last_used_at: number
  expires_at: number
  revoked_at: number | null
  revoke_reason: string | null
  ip: string | null
  user_agent: string | null
  auth_time: number | null
  amr: string | null
  jkt?: string | null
}

/** A row of `gk_refresh_tokens`. */
export interface TokenRow {
  id: string
  hash: string
  family_id: string
  user_id: string
  parent_id: string | null
  created_at: number
  expires_at: number
  consumed_at: number | null
  replaced_by: string | null
}

/** A row of `gk_oauth_clients`. */
export interface OAuthClientRow {
  id: string
  name: string
  secret_hash: string
  previous_secret_hash: string | null
  previous_secret_expires_at: number | null
  scopes: string
  created_at: number
  revoked_at: number | null
}

/** A row of `gk_account_tokens`. */
export interface AccountTokenRow {
  id: string
  hash: string
  user_id: string
  kind: string
  email: string | null
  created_at: number
  expires_at: number
  consumed_at: number | null
}

/** A row of `gk_identities`. */
export interface IdentityRow {
  issuer: string
  subject: string
  user_id: string
  provider: string
  created_at: number
}

const date = (ms: number | null): Date | null => ms === null ? null : new Date(ms)

/** Integer milliseconds of a date, `null` kept. */
export const ms = (d: Date | null | undefined): number | null => d === null || d === undefined ? null : d.getTime()

/** A user row as a record. */
export function toUser (r: UserRow): UserRecord {
  return {
    id: r.id,
    username: r.username,
    passwordHash: r.password_hash,
    roles: stringsOf(JSON.parse(r.roles)),
    disabled: r.disabled !== 0,
    email: r.email,
    emailVerifiedAt: date(r.email_verified_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at)
  }
}

/** An API key row as a record. */
export function toApiKey (r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    name: r.name,
    start: r.start,
    hash: r.hash,
    scopes: stringsOf(JSON.parse(r.scopes)),
    expiresAt: date(r.expires_at),
    revokedAt: date(r.revoked_at),
    createdAt: new Date(r.created_at),
    lastUsedAt: date(r.last_used_at),
    rateLimit: r.rate_limit_max === null || r.rate_limit_window === null ? null : { max: r.rate_limit_max, timeWindow: r.rate_limit_window }
  }
}

/** A family row as a record. */
export function toFamily (r: FamilyRow): RefreshFamilyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    createdAt: new Date(r.created_at),
    lastUsedAt: new Date(r.last_used_at),
    expiresAt: new Date(r.expires_at),
    revokedAt: date(r.revoked_at),
    revokeReason: r.revoke_reason,
    ip: r.ip,
    userAgent: r.user_agent,
    authTime: date(r.auth_time),
    amr: r.amr === null ? null : stringsOf(JSON.parse(r.amr)),
    jkt: r.jkt ?? null
  }
}

/** A token row as a record. */
export function toToken (r: TokenRow): RefreshTokenRecord {
  return {
    id: r.id,
    hash: r.hash,
    familyId: r.family_id,
    userId: r.user_id,
    parentId: r.parent_id,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    consumedAt: date(r.consumed_at),
    replacedBy: r.replaced_by
  }
}

/** An OAuth client row as a record. */
export function toOAuthClient (r: OAuthClientRow): OAuthClientRecord {
  return {
    id: r.id,
    name: r.name,
    secretHash: r.secret_hash,
    previousSecretHash: r.previous_secret_hash,
    previousSecretExpiresAt: date(r.previous_secret_expires_at),
    scopes: stringsOf(JSON.parse(r.scopes)),
    createdAt: new Date(r.created_at),
    revokedAt: date(r.revoked_at)
  }
}

/** An identity row as a record. */
export function toIdentity (r: IdentityRow): IdentityRecord {
  return { issuer: r.issuer, subject: r.subject, userId: r.user_id, provider: r.provider, createdAt: new Date(r.created_at) }
}

/** An account token row as a record. */
export function toAccountToken (r: AccountTokenRow): AccountTokenRecord {
  return {
    id: r.id,
    hash: r.hash,
    userId: r.user_id,
    kind: accountTokenKind(r.kind),
    email: r.email,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    consumedAt: date(r.consumed_at)
  }
}

/** A row of `gk_mfa_factors`. */
export interface MfaFactorRow {
  id: string
  user_id: string
  kind: string
  secret: string
  name: string
  confirmed_at: number | null
  last_step: number | null
  created_at: number
  last_used_at: number | null
}

/** A factor row as a record. */
export function toMfaFactor (r: MfaFactorRow): MfaFactorRecord {
  return {
    id: r.id,
    userId: r.user_id,
    kind: mfaFactorKind(r.kind),
    secret: r.secret,
    name: r.name,
    confirmedAt: date(r.confirmed_at),
    lastStep: r.last_step,
    createdAt: new Date(r.created_at),
    lastUsedAt: date(r.last_used_at)
  }
}

/** A row of `gk_webauthn_credentials`. */
export interface WebAuthnCredentialRow {
  id: string
  user_id: string
  public_key: string
  counter: number
  transports: string
  backup_eligible: number
  backed_up: number
  name: string
  created_at: number
  last_used_at: number | null
}

/** A credential row as a record. */
export function toWebAuthnCredential (r: WebAuthnCredentialRow): WebAuthnCredentialRecord {
  return {
    id: r.id,
    userId: r.user_id,
    publicKey: r.public_key,
    counter: r.counter,
    transports: stringsOf(JSON.parse(r.transports)),
    backupEligible: r.backup_eligible !== 0,
    backedUp: r.backed_up !== 0,
    name: r.name,
    createdAt: new Date(r.created_at),
    lastUsedAt: date(r.last_used_at)
  }
}

/** A row of `gk_challenges`. */
export interface ChallengeRow {
  id: string
  hash: string
  kind: string
  user_id: string | null
  data: string
  attempts: number
  created_at: number
  expires_at: number
  consumed_at: number | null
}

/** A challenge row as a record. */
export function toChallenge (r: ChallengeRow): ChallengeRecord {
  return {
    id: r.id,
    hash: r.hash,
    kind: challengeKind(r.kind),
    userId: r.user_id,
    data: recordOf(JSON.parse(r.data)),
    attempts: r.attempts,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    consumedAt: date(r.consumed_at)
  }
}
