import { errors } from '../core/errors.js'
import type { AuthContext } from '../core/types.js'
import type { NormalizedIssuer } from './options.js'
import { genericMapping, looksLikeIdToken, PRESETS, type ClaimMapping, type Claims } from './presets.js'

/** The name of the strategy the plugin registers. */
export const STRATEGY_NAME = 'resourceServer'

function invalid (): never {
  throw new errors.GK_TOKEN_INVALID()
}

/** Freezes a verified payload all the way down: cached callers are shared by every request with that token. */
export function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

function isStringList (v: unknown): v is readonly string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string')
}

/** Whether a mapping function's answer has the documented shape. */
function validMapping (m: ClaimMapping): boolean {
  return typeof m.subject === 'string' && m.subject.length > 0 && (m.kind === 'user' || m.kind === 'application') &&
    isStringList(m.roles) && isStringList(m.permissions) && isStringList(m.scopes) && (m.clientId === null || typeof m.clientId === 'string')
}

/** What building a caller needs besides the claims. */
export interface CallerDeps {
  permissionsOf: (roles: readonly string[]) => readonly string[]
  /** Told when a `claims` function throws or answers a wrong shape (the token is then refused). */
  onMappingError: (issuer: string, err: unknown) => void
}

/**
 * Checks what the provider-specific shape of verified claims says (an ID
 * token where an access token belongs, the audience of a provider that
 * keeps it in `client_id`), and builds the caller: the preset's reading,
 * then the issuer's own `claims` function.
 */
export function toCaller (claims: Claims, issuer: NormalizedIssuer, deps: CallerDeps, source: 'jwt' | 'introspection' = 'jwt'): AuthContext {
  const preset = issuer.preset === null ? null : PRESETS[issuer.preset]
  if (source === 'jwt') {
    // RFC 9068 §4: an ID token is not an access token, even signed by the same keys.
    if (preset?.acceptsIdTokens !== true && looksLikeIdToken(claims)) invalid()
    // (An introspection answer is the provider's own statement about an access token: its shape is not a JWT's.)
    if (preset?.isAccessToken !== undefined && !preset.isAccessToken(claims)) invalid()
  }
  if (preset?.audienceClaim === 'client_id' && !(typeof claims.client_id === 'string' && issuer.audiences.includes(claims.client_id))) invalid()
  let mapped = preset === null ? genericMapping(claims) : preset.map(claims, issuer.audiences)
  if (issuer.claims !== null) {
    try {
      const changes = issuer.claims(claims, Object.freeze({ ...mapped }))
      if (changes !== undefined && changes !== null) mapped = { ...mapped, ...changes }
    } catch (err) {
      deps.onMappingError(issuer.issuer, err)
      return invalid()
    }
    if (!validMapping(mapped)) {
      deps.onMappingError(issuer.issuer, new TypeError('the claims function must answer { subject?: non-empty string, kind?: user|application, roles?, permissions?, scopes?: string[], clientId?: string|null }'))
      invalid()
    }
  }
  // No subject, no caller: nothing to rate-limit or own resources by.
  if (mapped.subject.length === 0) invalid()
  const roles = Object.freeze([...new Set(mapped.roles)])
  const byRoles = deps.permissionsOf(roles)
  const permissions = mapped.permissions.length === 0 ? byRoles : Object.freeze([...new Set([...byRoles, ...mapped.permissions])])
  const ctx: AuthContext = {
    strategy: STRATEGY_NAME,
    kind: mapped.kind,
    subject: mapped.subject,
    roles,
    permissions,
    issuer: issuer.issuer,
    claims: deepFreeze({ ...claims })
  }
  // An application holds what its scopes say; a person's scopes restrict their roles unless the issuer says to ignore them.
  if (mapped.kind === 'application' || issuer.userScopes === 'restrict') ctx.scopes = Object.freeze([...new Set(mapped.scopes)])
  if (typeof claims.jti === 'string') ctx.tokenId = claims.jti
  if (mapped.clientId !== null) ctx.clientId = mapped.clientId
  return Object.freeze(ctx)
}
