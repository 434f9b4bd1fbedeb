import Type, { type Static } from 'typebox'
import { boundedMs } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { checkOptions } from '../core/options-schema.js'
import { PRESET_NAMES, PRESETS, type ClaimMapping, type PresetName } from './presets.js'

/** The algorithms accepted by default: asymmetric only (RFC 8725 §3.1: no shared secret with whoever holds the public key). */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const
/** Symmetric algorithms, accepted only for an issuer configured with a `secret`. */
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const

const Duration = Type.Union([Type.String(), Type.Integer({ minimum: 0 })], { errorMessage: "must be a duration such as '30s', '10m' or a number of milliseconds" })
const NonEmpty = Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' })
const Names = Type.Array(NonEmpty, { minItems: 1, errorMessage: 'must be a non-empty array of non-empty strings' })

/** What a claim-mapping function returns: the fields it changes. */
const Mapping = Type.Unsafe<(claims: Readonly<Record<string, unknown>>, mapped: Readonly<ClaimMapping>) => Partial<ClaimMapping> | undefined>(
  Type.Function([Type.Unknown(), Type.Unknown()], Type.Unknown(), { errorMessage: 'must be a function (claims, mapped) => ({ roles?, permissions?, scopes?, kind?, subject?, clientId? })' })
)

/** A `fetch` for the provider's metadata, keys and introspection (a proxy's, or a test's). */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>

/** RFC 7662 introspection of opaque tokens at one issuer. */
export const IntrospectionOptionsSchema = Type.Object({
  /** This API's client id at the authorization server (RFC 7662 §2.1: the caller authenticates). */
  clientId: NonEmpty,
  /** Its client secret. */
  clientSecret: NonEmpty,
  /** The introspection endpoint; default: the issuer metadata's `introspection_endpoint`. */
  endpoint: Type.Optional(NonEmpty),
  /** How the client authenticates (default `'client_secret_basic'`). */
  auth: Type.Optional(Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post')], { errorMessage: "must be 'client_secret_basic' or 'client_secret_post'" })),
  /** How long an active answer is reused, never past the token's `exp` (default `'30s'`, at most `'5m'`). */
  cacheTtl: Type.Optional(Duration),
  /** How long an inactive answer is reused (default `'5s'`, at most `'1m'`). */
  inactiveTtl: Type.Optional(Duration),
  /** Introspection requests in flight at once; past it, callers get 503 rather than queue (default 32). */
  maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, errorMessage: 'must be an integer from 1 to 1024' }))
}, { additionalProperties: false, errorMessage: 'must be an object { clientId, clientSecret, endpoint?, auth?, cacheTtl?, inactiveTtl?, maxConcurrent? }' })

/** One trusted authorization server. */
export const IssuerOptionsSchema = Type.Object({
  /** The exact `iss` of its tokens (Auth0's ends with '/'). */
  issuer: NonEmpty,
  /** The accepted audiences (`aud`, or Cognito's `client_id`); default: the plugin's `resource`. */
  audience: Type.Optional(Type.Union([NonEmpty, Names], { errorMessage: 'must be a string or a non-empty array of strings' })),
  /** Claim shapes of a known provider. */
  preset: Type.Optional(Type.Enum(PRESET_NAMES, { errorMessage: `must be one of ${PRESET_NAMES.join(', ')}` })),
  /** The JWK Set; default: the `jwks_uri` of the issuer's metadata (RFC 8414, then OpenID discovery). */
  jwksUri: Type.Optional(NonEmpty),
  /** A shared secret (at least 32 bytes) for HS256/384/512 tokens; keys then come from it alone. */
  secret: Type.Optional(Type.String({ minLength: 32, errorMessage: 'must be a string of at least 32 characters' })),
  /** Accepted `alg` values; default: every asymmetric one (with `secret`: HS256). */
  algorithms: Type.Optional(Names),
  /** Require the RFC 9068 header `typ: at+jwt` (default: true, or the preset's documented choice). */
  requireTyp: Type.Optional(Type.Boolean({ errorMessage: 'must be a boolean' })),
  /** Allowed clock skew for `exp`, `nbf` and `iat`; default: the plugin's. */
  clockTolerance: Type.Optional(Duration),
  /**
   * What a person's token scopes do (default `'restrict'`): `'restrict'` records them, so
   * routes asking for scopes check them and role permissions hold only where a scope
   * grants them too (OAuth delegation); `'ignore'` leaves people's permissions to their
   * roles alone and records no scopes on them (for scopes that are only `openid profile`).
   */
  userScopes: Type.Optional(Type.Union([Type.Literal('restrict'), Type.Literal('ignore')], { errorMessage: "must be 'restrict' or 'ignore'" })),
  /** Introspect opaque tokens at this issuer (RFC 7662); at most one issuer may. */
  introspection: Type.Optional(IntrospectionOptionsSchema),
  /** Adjusts the caller built from the claims (after the preset). */
  claims: Type.Optional(Mapping),
  /** The name of its OpenAPI security scheme (default: the preset's name or `issuer<n>`). */
  name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', errorMessage: 'must be 1-64 letters, digits, dots, dashes or underscores' }))
}, { additionalProperties: false, errorMessage: 'must be an object { issuer, audience?, preset?, jwksUri?, ... }' })

/** Options of the `resourceServer` plugin. */
export const ResourceServerOptionsSchema = Type.Object({
  /** This API's resource identifier (RFC 8707, RFC 9728): an https URL, the audience of its tokens by default. */
  resource: Type.String({ minLength: 1, errorMessage: "must be this API's https URL, for example 'https://api.example.com'" }),
  /** The trusted authorization servers; a token's `iss` picks one by exact match. */
  issuers: Type.Array(IssuerOptionsSchema, { minItems: 1, errorMessage: 'must be a non-empty array of { issuer, audience?, preset?, ... }' }),
  /** Scopes this API understands, published as `scopes_supported`. */
  scopes: Type.Optional(Type.Array(NonEmpty, { errorMessage: 'must be an array of scope names' })),
  /** RFC 9728 metadata fields, or `false` to serve no metadata routes. */
  metadata: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    /** `resource_name`: a human-readable name. */
    resourceName: Type.Optional(NonEmpty),
    /** `resource_documentation`: where developers read about this API. */
    documentation: Type.Optional(NonEmpty)
  }, { additionalProperties: false })], { errorMessage: 'must be false or { resourceName?, documentation? }' })),
  /** Allowed clock skew for `exp`, `nbf` and `iat` (default `'5s'`, at most `'2m'`). */
  clockTolerance: Type.Optional(Duration),
  /** Verified tokens kept (default 10000; 0 turns the cache off). */
  cacheSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, errorMessage: 'must be an integer from 0 to 1000000' })),
  /** How keys are fetched and kept. */
  jwks: Type.Optional(Type.Object({
    /** Least time between two fetches of one issuer's keys, successful or not (default `'30s'`). */
    cooldown: Type.Optional(Duration),
    /** Timeout of a fetch (default `'5s'`). */
    timeout: Type.Optional(Duration),
    /** Largest accepted response, bytes (default 65536). */
    maxBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1_048_576, errorMessage: 'must be an integer from 1024 to 1048576' })),
    /** Lower bound of a `Cache-Control: max-age` (default `'1m'`). */
    minAge: Type.Optional(Duration),
    /** Upper bound of a `Cache-Control: max-age`, and the age of keys served without one is `'10m'` (default `'24h'`). */
    maxAge: Type.Optional(Duration),
    /** How long expired keys keep serving while the provider cannot be reached (default `'12h'`). */
    maxStale: Type.Optional(Duration)
  }, { additionalProperties: false })),
  /** The `fetch` used for every request to a provider (default: the global one). */
  fetch: Type.Optional(Type.Unsafe<FetchLike>(Type.Function([Type.Unknown(), Type.Unknown()], Type.Unknown(), { errorMessage: 'must be a fetch-compatible function' })))
}, { additionalProperties: false })

/** Options of the `resourceServer` plugin (see docs/resource-server.md). */
export type ResourceServerOptions = Static<typeof ResourceServerOptionsSchema>
/** One trusted issuer. */
export type IssuerOptions = Static<typeof IssuerOptionsSchema>
/** Introspection settings of an issuer. */
export type IntrospectionOptions = Static<typeof IntrospectionOptionsSchema>

/** Introspection after validation. */
export interface NormalizedIntrospection {
  readonly clientId: string
  readonly clientSecret: string
  readonly endpoint: URL | null
  readonly auth: 'client_secret_basic' | 'client_secret_post'
  readonly cacheTtlMs: number
  readonly inactiveTtlMs: number
  readonly maxConcurrent: number
}

/** An issuer after validation. */
export interface NormalizedIssuer {
  readonly issuer: string
  readonly url: URL
  readonly name: string
  readonly audiences: readonly string[]
  readonly preset: PresetName | null
  readonly jwksUri: URL | null
  readonly secret: Uint8Array | null
  readonly algorithms: readonly string[]
  readonly requireTyp: boolean
  readonly toleranceMs: number
  readonly userScopes: 'restrict' | 'ignore'
  readonly introspection: NormalizedIntrospection | null
  readonly claims: NonNullable<IssuerOptions['claims']> | null
  /** Whether metadata is discovered (RFC 8414, then OpenID): needed unless `jwksUri` (or `secret`) and, with introspection, its endpoint are given. */
  readonly discover: boolean
  /** Plain http is allowed for a loopback issuer only (tests, local development). */
  readonly insecure: boolean
}

/** The JWKS settings after validation. */
export interface JwksSettings {
  readonly cooldownMs: number
  readonly timeoutMs: number
  readonly maxBytes: number
  readonly minAgeMs: number
  readonly maxAgeMs: number
  readonly defaultAgeMs: number
  readonly maxStaleMs: number
}

/** Every option after validation, with its default applied (the one place defaults live). */
export interface NormalizedOptions {
  readonly resource: URL
  readonly resourceId: string
  readonly issuers: readonly NormalizedIssuer[]
  readonly scopes: readonly string[]
  readonly metadata: { readonly resourceName: string | null, readonly documentation: string | null } | null
  readonly toleranceMs: number
  readonly cacheSize: number
  readonly jwks: JwksSettings
  readonly fetch: FetchLike
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** True for http(s) URLs that are https, or http on a loopback host. */
function parseUrl (value: string, what: string, allowHttpLoopback = true): { url: URL, insecure: boolean } {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return configError(`resourceServer: ${what} must be an absolute https URL (got '${value.slice(0, 80)}')`)
  }
  if (url.username !== '' || url.password !== '') configError(`resourceServer: ${what} must not carry credentials`)
  if (url.protocol === 'https:') return { url, insecure: false }
  if (url.protocol === 'http:' && allowHttpLoopback && LOOPBACK.has(url.hostname)) return { url, insecure: true }
  return configError(`resourceServer: ${what} must use https (plain http only on a loopback host, for development) (got '${value.slice(0, 80)}')`)
}

function normalizeIssuer (o: IssuerOptions, i: number, resource: string, defaultToleranceMs: number): NormalizedIssuer {
  const where = `issuers[${i}]`
  const { url, insecure } = parseUrl(o.issuer, `${where}.issuer`)
  const preset = o.preset ?? null
  if (preset !== null) {
    const problem = PRESETS[preset].checkIssuer?.(o.issuer)
    if (problem !== undefined && problem !== null) configError(`resourceServer: ${where}.issuer: ${problem}`)
  }
  const jwksUri = o.jwksUri === undefined ? null : parseUrl(o.jwksUri, `${where}.jwksUri`, insecure).url
  const secret = o.secret === undefined ? null : new TextEncoder().encode(o.secret)
  if (secret !== null && jwksUri !== null) configError(`resourceServer: ${where} has both secret and jwksUri: keys come from one of them`)
  const algorithms = o.algorithms ?? (secret === null ? [...ASYMMETRIC_ALGORITHMS] : ['HS256'])
  for (const alg of algorithms) {
    const symmetric = (SYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)
    if (!symmetric && !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      configError(`resourceServer: ${where}.algorithms: '${alg}' is not supported (use ${[...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS].join(', ')})`)
    }
    // RFC 8725 §2.1: a symmetric algorithm verified with a published key lets anyone holding it sign.
    if (symmetric && secret === null) configError(`resourceServer: ${where}.algorithms: '${alg}' is symmetric; it needs the issuer's shared secret (option secret), never its published keys`)
    if (!symmetric && secret !== null) configError(`resourceServer: ${where}.algorithms: '${alg}' is asymmetric; with a secret only HS256, HS384 or HS512 apply`)
  }
  const introspection = o.introspection === undefined
    ? null
    : {
        clientId: o.introspection.clientId,
        clientSecret: o.introspection.clientSecret,
        endpoint: o.introspection.endpoint === undefined ? null : parseUrl(o.introspection.endpoint, `${where}.introspection.endpoint`, insecure).url,
        auth: o.introspection.auth ?? 'client_secret_basic',
        cacheTtlMs: boundedMs(o.introspection.cacheTtl, `resourceServer ${where}.introspection.cacheTtl`, '30s', 0, 300_000),
        inactiveTtlMs: boundedMs(o.introspection.inactiveTtl, `resourceServer ${where}.introspection.inactiveTtl`, '5s', 0, 60_000),
        maxConcurrent: o.introspection.maxConcurrent ?? 32
      }
  const audiences = o.audience === undefined ? [resource] : typeof o.audience === 'string' ? [o.audience] : [...new Set(o.audience)]
  const keysKnown = jwksUri !== null || secret !== null
  return Object.freeze({
    issuer: o.issuer,
    url,
    name: o.name ?? preset ?? `issuer${i + 1}`,
    audiences: Object.freeze(audiences),
    preset,
    jwksUri,
    secret,
    algorithms: Object.freeze([...new Set(algorithms)]),
    requireTyp: o.requireTyp ?? (preset === null ? true : PRESETS[preset].typ),
    toleranceMs: o.clockTolerance === undefined ? defaultToleranceMs : boundedMs(o.clockTolerance, `resourceServer ${where}.clockTolerance`, '5s', 0, 120_000),
    userScopes: o.userScopes ?? 'restrict',
    introspection: introspection === null ? null : Object.freeze(introspection),
    claims: o.claims ?? null,
    discover: !keysKnown || (introspection !== null && introspection.endpoint === null),
    insecure
  })
}

/** Validates the options and applies every default; throws GK_CONFIG naming what to change. */
export function normalizeOptions (opts: unknown): NormalizedOptions {
  const o = checkOptions(ResourceServerOptionsSchema, opts, 'resourceServer')
  const { url: resource } = parseUrl(o.resource, 'resource')
  if (resource.hash !== '') configError('resourceServer: resource must not have a fragment (RFC 8707 §2)')
  if (resource.search !== '') configError('resourceServer: resource must not have a query (RFC 9728 §1.2)')
  // RFC 9728 §3.3: the resource value is compared as a string; keep it exactly as written.
  const resourceId = o.resource
  const toleranceMs = boundedMs(o.clockTolerance, 'resourceServer clockTolerance', '5s', 0, 120_000)
  const issuers = o.issuers.map((iss, i) => normalizeIssuer(iss, i, resourceId, toleranceMs))
  const seen = new Set<string>()
  const names = new Set<string>()
  for (const iss of issuers) {
    if (seen.has(iss.issuer)) configError(`resourceServer: the issuer '${iss.issuer}' is listed twice`)
    seen.add(iss.issuer)
    if (names.has(iss.name)) configError(`resourceServer: two issuers are named '${iss.name}'; give one a different name`)
    names.add(iss.name)
  }
  // An opaque token names no issuer: sending it to several would hand one provider's tokens to the others.
  if (issuers.filter((i) => i.introspection !== null).length > 1) configError('resourceServer: at most one issuer may introspect opaque tokens (an opaque token names no issuer)')
  const j = o.jwks ?? {}
  const minAgeMs = boundedMs(j.minAge, 'resourceServer jwks.minAge', '1m', 0, 86_400_000)
  const maxAgeMs = boundedMs(j.maxAge, 'resourceServer jwks.maxAge', '24h', 60_000, 7 * 86_400_000)
  if (minAgeMs > maxAgeMs) configError('resourceServer: jwks.minAge must not exceed jwks.maxAge')
  const jwks: JwksSettings = Object.freeze({
    cooldownMs: boundedMs(j.cooldown, 'resourceServer jwks.cooldown', '30s', 1000, 3_600_000),
    timeoutMs: boundedMs(j.timeout, 'resourceServer jwks.timeout', '5s', 100, 60_000),
    maxBytes: j.maxBytes ?? 65_536,
    minAgeMs,
    maxAgeMs,
    defaultAgeMs: Math.min(Math.max(600_000, minAgeMs), maxAgeMs),
    maxStaleMs: boundedMs(j.maxStale, 'resourceServer jwks.maxStale', '12h', 0, 7 * 86_400_000)
  })
  const metadata = o.metadata === false ? null : Object.freeze({ resourceName: o.metadata?.resourceName ?? null, documentation: o.metadata?.documentation ?? null })
  return Object.freeze({
    resource,
    resourceId,
    issuers: Object.freeze(issuers),
    scopes: Object.freeze([...new Set(o.scopes ?? [])]),
    metadata,
    toleranceMs,
    cacheSize: o.cacheSize ?? 10_000,
    jwks,
    fetch: o.fetch ?? fetch
  })
}
