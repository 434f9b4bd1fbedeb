import { recordOf, stringsOf } from '../../core/json.js'
import { accountTokenKind, challengeKind, mfaFactorKind } from '../decode.js'
import type { AccountTokenRecord, ApiKeyRecord, ChallengeRecord, IdentityRecord, MfaFactorRecord, OAuthClientRecord, RefreshFamilyRecord, RefreshTokenRecord, UserRecord, WebAuthnCredentialRecord } from '../types.js'

// Rows come either from pg (timestamps parsed as Date) or from row_to_json in
// a single-statement CTE (timestamps as ISO strings): both parse the same.
type Row = Record<string, unknown>

const date = (v: unknown): Date => new Date(v instanceof Date || typeof v === 'string' || typeof v === 'number' ? v : Number.NaN)
const maybeDate = (v: unknown): Date | null => v === null || v === undefined ? null : date(v)
const text = (v: unknown): string | null => v === null || v === undefined ? null : String(v)

/** A `gk_users` row as a record. */
export function toUser (r: Row): UserRecord {
  return {
    id: String(r.id),
    username: String(r.username),
    passwordHash: text(r.password_hash),
    roles: stringsOf(r.roles),
    disabled: r.disabled === true,
    email: text(r.email),
    emailVerifiedAt: maybeDate(r.email_verified_at),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at)
  }
}

/** A `gk_api_keys` row as a record. */
export function toApiKey (r: Row): ApiKeyRecord {
  return {
    id: String(r.id),
    ownerId: String(r.owner_id),
    name: String(r.name),
    start: String(r.start),
    hash: String(r.hash),
    scopes: stringsOf(r.scopes),
    expiresAt: maybeDate(r.expires_at),
    revokedAt: maybeDate(r.revoked_at),
    createdAt: date(r.created_at),
    lastUsedAt: maybeDate(r.last_used_at),
    rateLimit: r.rate_limit_max === null || r.rate_limit_window === null ? null : { max: Number(r.rate_limit_max), timeWindow: Number(r.rate_limit_window) }
  }
}

/** A `gk_refresh_families` row as a record. */
export function toFamily (r: Row): RefreshFamilyRecord {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    createdAt: date(r.created_at),
    lastUsedAt: date(r.last_used_at),
    expiresAt: date(r.expires_at),
    revokedAt: maybeDate(r.revoked_at),
    revokeReason: text(r.revoke_reason),
    ip: text(r.ip),
    userAgent: text(r.user_agent),
    authTime: maybeDate(r.auth_time),
    amr: r.amr === null || r.amr === undefined ? null : stringsOf(r.amr),
    jkt: text(r.jkt)
  }
}

/** A `gk_refresh_tokens` row as a record. */
export function toToken (r: Row): RefreshTokenRecord {
  return {
    id: String(r.id),
    hash: String(r.hash),
    familyId: String(r.family_id),
    userId: String(r.user_id),
    parentId: text(r.parent_id),
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    consumedAt: maybeDate(r.consumed_at),
    replacedBy: text(r.replaced_by)
  }
}

/** A `gk_oauth_clients` row as a record. */
export function toOAuthClient (r: Row): OAuthClientRecord {
  return {
    id: String(r.id),
    name: String(r.name),
    secretHash: String(r.secret_hash),
    previousSecretHash: text(r.previous_secret_hash),
    previousSecretExpiresAt: maybeDate(r.previous_secret_expires_at),
    scopes: stringsOf(r.scopes),
    createdAt: date(r.created_at),
    revokedAt: maybeDate(r.revoked_at)
  }
}

/** A `gk_identities` row as a record. */
export function toIdentity (r: Row): IdentityRecord {
  return { issuer: String(r.issuer), subject: String(r.subject), userId: String(r.user_id), provider: String(r.provider), createdAt: date(r.created_at) }
}

/** A `gk_account_tokens` row as a record. */
export function toAccountToken (r: Row): AccountTokenRecord {
  return {
    id: String(r.id),
    hash: String(r.hash),
    userId: String(r.user_id),
    kind: accountTokenKind(r.kind),
    email: text(r.email),
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    consumedAt: maybeDate(r.consumed_at)
  }
}

/** A `gk_mfa_factors` row as a record. */
export function toMfaFactor (r: Row): MfaFactorRecord {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    kind: mfaFactorKind(r.kind),
    secret: String(r.secret),
    name: String(r.name),
    confirmedAt: maybeDate(r.confirmed_at),
    lastStep: r.last_step === null || r.last_step === undefined ? null : Number(r.last_step),
    createdAt: date(r.created_at),
    lastUsedAt: maybeDate(r.last_used_at)
  }
}

/** A `gk_webauthn_credentials` row as a record. */
export function toWebAuthnCredential (r: Row): WebAuthnCredentialRecord {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    publicKey: String(r.public_key),
    counter: Number(r.counter),
    transports: stringsOf(r.transports),
    backupEligible: r.backup_eligible === true,
    backedUp: r.backed_up === true,
    name: String(r.name),
    createdAt: date(r.created_at),
    lastUsedAt: maybeDate(r.last_used_at)
  }
}

/** A `gk_challenges` row as a record. */
export function toChallenge (r: Row): ChallengeRecord {
  return {
    id: String(r.id),
    hash: String(r.hash),
    kind: challengeKind(r.kind),
    userId: text(r.user_id),
    data: structuredClone(recordOf(r.data)),
    attempts: Number(r.attempts),
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    consumedAt: maybeDate(r.consumed_at)
  }
}
