import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { MIN_PEPPER_BYTES, pepperBytes } from '../api-key/hash.js'

/** One OpenID provider to log in with. */
export interface OidcProviderOptions {
  /** The provider's issuer identifier; its metadata is discovered at `<issuer>/.well-known/openid-configuration`. */
  issuer: string
  /** This app's client id at the provider. */
  clientId: string
  /** This app's client secret (sent with HTTP Basic); omit for a public client, which relies on PKCE alone. */
  clientSecret?: string
  /** Scopes to ask for (default `['openid', 'email', 'profile']`); must include `openid`. */
  scopes?: string[]
}

/** The OpenID Connect login options of the `oauth2` plugin. */
export interface OidcOptions {
  /** Providers by name; the name appears in the routes: `/api/oauth/<name>/start`. */
  providers?: Record<string, OidcProviderOptions>
  /** The public origin of this app (`https://app.example`); redirect URIs are `<redirectBase>/api/oauth/<name>/callback`. */
  redirectBase?: string
  /** Key (at least 32 bytes) sealing the short-lived state cookie. Required with `providers`. */
  stateSecret?: string | Uint8Array
  /** How long a started login may take (default `'10m'`, between `'1m'` and `'30m'`). */
  stateTtl?: Duration
  /** Create a local user at the first login of an unknown identity (default `false`). */
  allowSignup?: boolean
  /** Roles of users created by `allowSignup` (default `[]`). */
  signupRoles?: string[]
  /**
   * Link an unknown identity to the existing local user whose username equals
   * its email, when the provider says `email_verified: true` (default `false`).
   * Turn on only for providers whose email verification you trust: a provider
   * that lets anyone claim any address would hand over local accounts.
   */
  linkVerifiedEmail?: boolean
}

/** A provider after validation. */
export interface NormalizedProvider {
  readonly name: string
  readonly issuer: URL
  readonly clientId: string
  readonly clientSecret: string | null
  readonly scopes: string
  readonly redirectUri: string
  /** Plain HTTP is allowed for a loopback issuer only (tests, local development). */
  readonly insecure: boolean
}

/** The OIDC options after validation; `null` when no provider is configured. */
export interface NormalizedOidc {
  readonly providers: ReadonlyMap<string, NormalizedProvider>
  readonly stateSecret: Buffer
  readonly stateTtlMs: number
  readonly allowSignup: boolean
  readonly signupRoles: readonly string[]
  readonly linkVerifiedEmail: boolean
}

/** The option names of {@link OidcOptions}. */
export const OIDC_KEYS = ['providers', 'redirectBase', 'stateSecret', 'stateTtl', 'allowSignup', 'signupRoles', 'linkVerifiedEmail']

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

function httpsOrLoopback (value: unknown, name: string): URL {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    return configError(`${name} must be an absolute URL such as 'https://accounts.google.com'`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    configError(`${name} must use https (plain http only for a loopback host)`)
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') configError(`${name} must have no query, fragment or credentials`)
  return url
}

/** Validates the OIDC options at registration; `null` when no provider is configured. */
export function normalizeOidc (o: OidcOptions, callbackPath: (name: string) => string): NormalizedOidc | null {
  if (o.providers === undefined) {
    for (const k of OIDC_KEYS) if (k !== 'providers' && o[k as keyof OidcOptions] !== undefined) configError(`oauth2 ${k} needs providers`)
    return null
  }
  if (o.providers === null || typeof o.providers !== 'object' || Array.isArray(o.providers) || Object.keys(o.providers).length === 0) {
    configError('oauth2 providers must be an object such as { google: { issuer, clientId, clientSecret } }')
  }
  const base = httpsOrLoopback(o.redirectBase, 'oauth2 redirectBase')
  if (base.pathname !== '/') configError("oauth2 redirectBase must be an origin such as 'https://app.example' (no path)")
  if (typeof o.stateSecret !== 'string' && !(o.stateSecret instanceof Uint8Array)) configError('oauth2 stateSecret is required with providers: a string or Buffer of at least 32 bytes')
  const stateSecret = pepperBytes(o.stateSecret)
  if (stateSecret.length < MIN_PEPPER_BYTES) configError(`oauth2 stateSecret must be at least ${MIN_PEPPER_BYTES} bytes: generate one with crypto.randomBytes(32).toString('base64')`)
  const stateTtlMs = boundedMs(o.stateTtl, 'oauth2 stateTtl', '10m', 60_000, 1_800_000)
  const providers = new Map<string, NormalizedProvider>()
  for (const [name, p] of Object.entries(o.providers)) {
    if (!/^[a-z0-9-]{1,32}$/.test(name)) configError(`oauth2 provider name '${name}' must be 1-32 lowercase letters, digits or '-'`)
    if (p === null || typeof p !== 'object') configError(`oauth2 providers.${name} must be { issuer, clientId, clientSecret?, scopes? }`)
    for (const k of Object.keys(p)) if (!['issuer', 'clientId', 'clientSecret', 'scopes'].includes(k)) configError(`unknown option oauth2 providers.${name}.${k}`)
    const issuer = httpsOrLoopback(p.issuer, `oauth2 providers.${name}.issuer`)
    if (typeof p.clientId !== 'string' || p.clientId.length === 0) configError(`oauth2 providers.${name}.clientId must be a non-empty string`)
    if (p.clientSecret !== undefined && (typeof p.clientSecret !== 'string' || p.clientSecret.length === 0)) configError(`oauth2 providers.${name}.clientSecret must be a non-empty string`)
    const scopes = p.scopes ?? ['openid', 'email', 'profile']
    if (!Array.isArray(scopes) || !scopes.includes('openid') || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
      configError(`oauth2 providers.${name}.scopes must be an array of scope names including 'openid'`)
    }
    providers.set(name, Object.freeze({
      name,
      issuer,
      clientId: p.clientId,
      clientSecret: p.clientSecret ?? null,
      scopes: scopes.join(' '),
      redirectUri: new URL(callbackPath(name), base).href,
      insecure: issuer.protocol === 'http:'
    }))
  }
  if (o.allowSignup !== undefined && typeof o.allowSignup !== 'boolean') configError('oauth2 allowSignup must be a boolean')
  if (o.linkVerifiedEmail !== undefined && typeof o.linkVerifiedEmail !== 'boolean') configError('oauth2 linkVerifiedEmail must be a boolean')
  const signupRoles = o.signupRoles ?? []
  if (!Array.isArray(signupRoles) || !signupRoles.every((r) => typeof r === 'string' && r.length > 0)) configError('oauth2 signupRoles must be an array of role names')
  return Object.freeze({
    providers,
    stateSecret,
    stateTtlMs,
    allowSignup: o.allowSignup === true,
    signupRoles: Object.freeze([...signupRoles]),
    linkVerifiedEmail: o.linkVerifiedEmail === true
  })
}
