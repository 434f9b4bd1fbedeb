/**
 * Claim shapes of the providers a company already runs, from each
 * provider's own documentation (cited in docs/resource-server.md). A preset
 * maps a verified payload to the caller; it never widens what was verified.
 */

/** The caller as read from a token's claims. */
export interface ClaimMapping {
  /** `request.auth.subject` (default `sub`). */
  subject: string
  /** A person, or a program acting for itself (client credentials). */
  kind: 'user' | 'application'
  /** Roles, turned into permissions by the rbac plugin. */
  roles: readonly string[]
  /** Permissions carried by the token itself (Auth0 RBAC's `permissions`), added to those of the roles. */
  permissions: readonly string[]
  /** The token's scopes. */
  scopes: readonly string[]
  /** The OAuth client that obtained the token, when the token says. */
  clientId: string | null
}

/** The presets' names. */
export const PRESET_NAMES = ['auth0', 'keycloak', 'entra', 'cognito', 'okta', 'google', 'zitadel'] as const
/** A provider preset's name. */
export type PresetName = typeof PRESET_NAMES[number]

/** What a preset knows about one provider. */
export interface Preset {
  /** Whether the provider marks access tokens with the RFC 9068 `typ: at+jwt` header (then it is required by default). */
  readonly typ: boolean
  /** The claim holding the audience: `aud`, or Cognito's `client_id`. */
  readonly audienceClaim: 'aud' | 'client_id'
  /** Whether verified claims are this provider's access token (not its ID token); used where `typ` cannot tell. */
  readonly isAccessToken?: (claims: Claims) => boolean
  /** The provider's documented credential for an API is an ID token (Google): the ID-token-only claims are not refused. */
  readonly acceptsIdTokens?: boolean
  /** A GK_CONFIG message when `issuer` cannot be one of this provider's, else null. */
  readonly checkIssuer?: (issuer: string) => string | null
  /** Reads the caller. */
  readonly map: (claims: Claims, audiences: readonly string[]) => ClaimMapping
}

/** A verified JWT payload or an active introspection answer. */
export type Claims = Readonly<Record<string, unknown>>

function str (v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null
}

function strings (v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s.length > 0) : []
}

/** RFC 6749 §3.3 `scope` (space-separated) or an `scp` array (Okta) or string (Entra). */
export function scopesOf (claims: Claims): string[] {
  const raw = claims.scope ?? claims.scp
  if (typeof raw === 'string') return [...new Set(raw.split(' ').filter((s) => s.length > 0))]
  return [...new Set(strings(raw))]
}

/** Claims only an OpenID Connect ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11). */
const ID_TOKEN_ONLY = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const

/** Whether claims carry a claim no access token has: an ID token presented as an access token. */
export function looksLikeIdToken (claims: Claims): boolean {
  return ID_TOKEN_ONLY.some((c) => c in claims)
}

/**
 * The generic reading (RFC 9068 §2.2): `sub`, `client_id`, `scope`, `roles`.
 * A token without a resource owner names the client as its subject
 * (RFC 9068 §2.2: "the value of sub SHOULD correspond to an identifier the
 * authorization server uses to indicate the client application"): such a
 * token is an application's.
 */
export function genericMapping (claims: Claims): ClaimMapping {
  const clientId = str(claims.client_id) ?? str(claims.azp)
  const sub = str(claims.sub)
  const application = sub === null || (clientId !== null && sub === clientId)
  return {
    subject: sub ?? clientId ?? '',
    kind: application ? 'application' : 'user',
    roles: strings(claims.roles),
    permissions: [],
    scopes: scopesOf(claims),
    clientId
  }
}

const auth0: Preset = {
  // Auth0's default token profile signs with typ JWT; its RFC 9068 profile uses at+jwt.
  typ: false,
  audienceClaim: 'aud',
  checkIssuer: (issuer) => issuer.endsWith('/') ? null : `Auth0 issuers end with '/': use '${issuer}/'`,
  map (claims) {
    const base = genericMapping(claims)
    // Client-credentials tokens: gty "client-credentials", sub "<client_id>@clients".
    const application = claims.gty === 'client-credentials' || (base.clientId !== null && claims.sub === `${base.clientId}@clients`)
    return { ...base, kind: application ? 'application' : 'user', roles: [], permissions: strings(claims.permissions) }
  }
}

const keycloak: Preset = {
  typ: false,
  audienceClaim: 'aud',
  // Keycloak marks the token kind in the payload: "typ": "Bearer" for access tokens, "ID" for ID tokens.
  isAccessToken: (claims) => claims.typ === 'Bearer',
  checkIssuer: (issuer) => /\/realms\/[^/]+$/.test(issuer) ? null : "a Keycloak issuer is the realm's URL: 'https://<host>/realms/<realm>'",
  map (claims, audiences) {
    const base = genericMapping(claims)
    const realm = claims.realm_access as { roles?: unknown } | undefined
    const roles = new Set(strings(realm?.roles))
    // Client roles of the API's own client (its client id is the audience an audience mapper puts in aud).
    const access = claims.resource_access
    if (access !== null && typeof access === 'object') {
      for (const aud of audiences) {
        const entry = (access as Record<string, { roles?: unknown } | undefined>)[aud]
        for (const r of strings(entry?.roles)) roles.add(r)
      }
    }
    // Service-account tokens carry the client's id (client_id, or clientId before Keycloak 20) and a service-account- username.
    const clientClaim = str(claims.client_id) ?? str(claims.clientId)
    const username = str(claims.preferred_username)
    const application = clientClaim !== null || (username?.startsWith('service-account-') ?? false)
    return { ...base, kind: application ? 'application' : 'user', roles: [...roles], clientId: str(claims.azp) ?? clientClaim }
  }
}

const entra: Preset = {
  typ: false,
  audienceClaim: 'aud',
  // A delegated token carries scp; an app-only token carries roles with idtyp "app" or oid equal to sub. An ID token has neither.
  isAccessToken: (claims) => typeof claims.scp === 'string' || claims.idtyp === 'app' || (Array.isArray(claims.roles) && claims.scp === undefined && typeof claims.oid === 'string' && claims.oid === claims.sub),
  checkIssuer: (issuer) => /\/(common|organizations|consumers)(\/|$)/.test(issuer)
    ? "multi-tenant endpoints ('common', 'organizations', 'consumers') are not issuers: tokens name the user's tenant; list each tenant's issuer, 'https://login.microsoftonline.com/<tenant-id>/v2.0'"
    : null,
  map (claims) {
    const scp = str(claims.scp)
    const roles = strings(claims.roles)
    const application = claims.idtyp === 'app' || (scp === null && typeof claims.oid === 'string' && claims.oid === claims.sub)
    return {
      // oid: the principal's id across every application of the tenant (sub is per application).
      subject: str(claims.oid) ?? str(claims.sub) ?? '',
      kind: application ? 'application' : 'user',
      roles,
      permissions: [],
      // An app-only token's application permissions arrive as roles: they are what the application was granted.
      scopes: application ? roles : scp === null ? [] : scp.split(' ').filter((s) => s.length > 0),
      clientId: str(claims.azp) ?? str(claims.appid)
    }
  }
}

const cognito: Preset = {
  typ: false,
  // Cognito access tokens have no aud: the app client is in client_id.
  audienceClaim: 'client_id',
  isAccessToken: (claims) => claims.token_use === 'access',
  checkIssuer: (issuer) => /^https:\/\/cognito-idp\.[a-z0-9-]+\.amazonaws\.com\/[\w-]+_[A-Za-z0-9]+$/.test(issuer)
    ? null
    : "a Cognito issuer is 'https://cognito-idp.<region>.amazonaws.com/<user-pool-id>'",
  map (claims) {
    const base = genericMapping(claims)
    // A client-credentials token has no username: its sub is the app client's id.
    const application = claims.username === undefined
    return { ...base, kind: application ? 'application' : 'user', roles: strings(claims['cognito:groups']), clientId: str(claims.client_id) }
  }
}

const okta: Preset = {
  typ: false,
  audienceClaim: 'aud',
  // Okta access tokens carry cid (the client) and scp; ID tokens carry neither.
  isAccessToken: (claims) => typeof claims.cid === 'string' && Array.isArray(claims.scp),
  map (claims) {
    // cid in a JWT; client_id in an introspection answer.
    const cid = str(claims.cid) ?? str(claims.client_id)
    const uid = str(claims.uid)
    // A client-credentials token has no uid; its sub is the client id.
    const application = uid === null
    return {
      // uid is the user's id; sub is their login name.
      subject: uid ?? str(claims.sub) ?? cid ?? '',
      kind: application ? 'application' : 'user',
      roles: strings(claims.groups),
      permissions: [],
      scopes: scopesOf(claims),
      clientId: cid
    }
  }
}

const google: Preset = {
  // Google issues no JWT access tokens for your API: callers present a Google-signed ID token whose aud is your API.
  typ: false,
  audienceClaim: 'aud',
  acceptsIdTokens: true,
  checkIssuer: (issuer) => issuer === 'https://accounts.google.com' ? null : "Google's issuer is 'https://accounts.google.com'",
  map (claims) {
    const email = str(claims.email)
    const application = email?.endsWith('.gserviceaccount.com') ?? false
    return { subject: str(claims.sub) ?? '', kind: application ? 'application' : 'user', roles: [], permissions: [], scopes: [], clientId: str(claims.azp) }
  }
}

const zitadel: Preset = {
  typ: false,
  audienceClaim: 'aud',
  // ZITADEL's claims table: jti and client_id are in JWT access tokens, never in ID tokens.
  isAccessToken: (claims) => typeof claims.jti === 'string' && typeof claims.client_id === 'string',
  map (claims) {
    const base = genericMapping(claims)
    const roles = new Set<string>()
    for (const [name, value] of Object.entries(claims)) {
      // urn:zitadel:iam:org:project:roles and urn:zitadel:iam:org:project:<id>:roles: { role: { orgId: domain } }.
      if (/^urn:zitadel:iam:org:project:(\d+:)?roles$/.test(name) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const role of Object.keys(value)) roles.add(role)
      }
    }
    return { ...base, roles: [...roles] }
  }
}

/** Every preset, by name. */
export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.freeze({ auth0, keycloak, entra, cognito, okta, google, zitadel })
