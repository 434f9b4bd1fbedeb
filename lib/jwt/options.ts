import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { resolveKeys, resolveSecret, type JwtKey, type ResolvedKey } from './keys.js'
import { OWASP_ARGON2, type Argon2Params, type PasswordPolicy } from './passwords.js'
import type { TokenSubject } from './types.js'

/** Options of the `jwt` plugin. */
export interface JwtOptions {
  /** HS256 secret of at least 32 bytes. Give either `secret` or `keys`. */
  secret?: string | Buffer
  /** Asymmetric keys: the first signs, all verify; served at `/.well-known/jwks.json`. */
  keys?: JwtKey[]
  /**
   * Keys published in the JWK Set (and accepted by verification) before they
   * sign: the first step of a key rotation, so verifiers that cache the JWKS
   * know the next key before any token uses it. Needs `keys`.
   */
  nextKeys?: JwtKey[]
  /** The `iss` claim: set on tokens, required on verification (exact match). */
  issuer: string
  /** The `aud` claim: set on tokens, required on verification (exact match). */
  audience: string
  /** Access-token lifetime (default `'15m'`, at most `'60m'`). */
  accessTokenTtl?: Duration
  /** Allowed clock skew for `exp`, `nbf` and `iat` (default `'5s'`, at most `'5m'`). */
  clockTolerance?: Duration
  /** Cookie transport of the access token (default `false`: header only). */
  cookie?: { name?: string } | false
  /** CSRF defence of cookie-authenticated unsafe requests. */
  csrf?: { header?: string, origins?: string[] }
  /** The plugin's routes; `false` registers none (use the decorators). */
  routes?: {
    prefix?: string
    login?: string
    logout?: string
    /** `false` (default), `true` (`/register`) or a path. */
    register?: string | boolean
    /** The password-change route (default `'/password'`), or `false`. */
    password?: string | false
  } | false
  /** Password policy and argon2id cost. */
  password?: {
    minLength?: number
    maxLength?: number
    argon2?: Partial<Argon2Params>
    blocklist?: string[]
    isBreached?: (password: string) => boolean | Promise<boolean>
  }
  /** Roles given to accounts created through the register route (default `['user']`). */
  defaultRoles?: string[]
  /**
   * The `client_id` claim (RFC 9068 §2.2, required) of tokens this app issues
   * to itself: password and OpenID Connect logins, refreshes. Default: the
   * `issuer` (a first-party token is issued by the app to the app). Tokens of
   * the oauth2 token endpoint carry their OAuth client's id instead.
   */
  clientId?: string
  /** Extra claims for a user's tokens; registered claims cannot be overridden. */
  claims?: (user: TokenSubject) => Record<string, unknown> | Promise<Record<string, unknown>>
  /** Bound of the verified-token cache (default 10000 entries; 0 disables it). */
  cacheSize?: number
  /**
   * Check a user's token against the store on every request (default
   * `false`: a token is trusted until it expires). With `true` or
   * `{ cacheTtl }`, the token of a user who is missing or disabled is refused
   * (401 `GK_TOKEN_INVALID`) and the request carries the user's current roles
   * instead of the token's. Answers are kept per user for `cacheTtl`
   * (default `'5s'`, at most `'5m'`, `0` for none); this instance's
   * `users.disable` and `users.setRoles` take effect at once, other
   * instances' within `cacheTtl`.
   */
  checkUser?: boolean | { cacheTtl?: Duration }
}

/** The options after validation: frozen, every default filled. */
export interface NormalizedJwtOptions {
  /** The signing key first, then the verify-only ones, then the pre-published `nextKeys`. */
  keys: readonly ResolvedKey[]
  asymmetric: boolean
  issuer: string
  audience: string
  clientId: string
  ttlMs: number
  toleranceMs: number
  cookieName: string | null
  csrf: { header: string, origins: readonly string[] | null }
  routes: { login: string, logout: string, register: string | null, password: string | null } | null
  password: PasswordPolicy
  defaultRoles: readonly string[]
  claims?: JwtOptions['claims']
  cacheSize: number
  /** `null` when users are not checked; else how long a store answer is kept. */
  checkUser: { cacheTtlMs: number } | null
}

const KEYS = new Set(['secret', 'keys', 'nextKeys', 'issuer', 'audience', 'clientId', 'accessTokenTtl', 'clockTolerance', 'cookie', 'csrf', 'routes', 'password', 'defaultRoles', 'claims', 'cacheSize', 'checkUser'])
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,64}$/
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,64}$/
const PATH = /^\/[A-Za-z0-9\-._~/]*$/

function allowed (obj: Record<string, unknown>, where: string, names: string[]): void {
  for (const k of Object.keys(obj)) if (!names.includes(k)) configError(`unknown option ${where}.${k} (allowed: ${names.join(', ')})`)
}

function object (value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${where} must be an object`)
  return value as Record<string, unknown>
}

function path (value: unknown, where: string): string {
  if (typeof value !== 'string' || !PATH.test(value)) configError(`${where} must be a path starting with '/' (got ${JSON.stringify(value)})`)
  return value
}

function int (value: unknown, where: string, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) configError(`${where} must be an integer from ${min} to ${max}`)
  return value as number
}

function roles (value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.some((r) => typeof r !== 'string' || r.length === 0)) configError(`${where} must be an array of role names`)
  return [...value]
}

function normalizeRoutes (value: unknown): NormalizedJwtOptions['routes'] {
  if (value === false) return null
  const r = object(value ?? {}, 'routes')
  allowed(r, 'routes', ['prefix', 'login', 'logout', 'register', 'password'])
  const prefix = r.prefix === undefined ? '/api' : r.prefix === '' ? '' : path(r.prefix, 'routes.prefix').replace(/\/+$/, '')
  const at = (v: unknown, where: string, dflt: string): string => prefix + path(v ?? dflt, where)
  let register: string | null = null
  if (r.register === true) register = at('/register', 'routes.register', '/register')
  else if (typeof r.register === 'string') register = at(r.register, 'routes.register', '/register')
  else if (r.register !== undefined && r.register !== false) configError('routes.register must be false, true or a path')
  let password: string | null = null
  if (r.password !== false) password = at(r.password, 'routes.password', '/password')
  return { login: at(r.login, 'routes.login', '/login'), logout: at(r.logout, 'routes.logout', '/logout'), register, password }
}

function normalizeCheckUser (value: unknown): NormalizedJwtOptions['checkUser'] {
  if (value === undefined || value === false) return null
  if (value === true) return { cacheTtlMs: 5000 }
  const c = object(value, 'checkUser (true, false or { cacheTtl })')
  allowed(c, 'checkUser', ['cacheTtl'])
  return { cacheTtlMs: boundedMs(c.cacheTtl as Duration | undefined, 'checkUser.cacheTtl', '5s', 0, 300_000) }
}

function normalizePassword (value: unknown): PasswordPolicy {
  const p = object(value ?? {}, 'password')
  allowed(p, 'password', ['minLength', 'maxLength', 'argon2', 'blocklist', 'isBreached'])
  const minLength = int(p.minLength, 'password.minLength', 8, 8, 64)
  const maxLength = int(p.maxLength, 'password.maxLength', 128, 64, 1024)
  if (maxLength < minLength) configError('password.maxLength must not be below password.minLength')
  const a = object(p.argon2 ?? {}, 'password.argon2')
  allowed(a, 'password.argon2', ['memoryCost', 'timeCost', 'parallelism'])
  // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1 is the floor, never below.
  const argon2 = Object.freeze({
    memoryCost: int(a.memoryCost, 'password.argon2.memoryCost (KiB, OWASP minimum 19456)', OWASP_ARGON2.memoryCost, OWASP_ARGON2.memoryCost, 4_194_304),
    timeCost: int(a.timeCost, 'password.argon2.timeCost (OWASP minimum 2)', OWASP_ARGON2.timeCost, OWASP_ARGON2.timeCost, 50),
    parallelism: int(a.parallelism, 'password.argon2.parallelism', OWASP_ARGON2.parallelism, 1, 64)
  })
  if (p.isBreached !== undefined && typeof p.isBreached !== 'function') configError('password.isBreached must be a function (password) => boolean | Promise<boolean>')
  const blocklist = p.blocklist === undefined ? [] : p.blocklist
  if (!Array.isArray(blocklist) || blocklist.some((w) => typeof w !== 'string')) configError('password.blocklist must be an array of strings')
  return Object.freeze({
    minLength,
    maxLength,
    argon2,
    blocklist: new Set(blocklist.map((w: string) => w.normalize('NFKC').toLowerCase())),
    ...(p.isBreached === undefined ? {} : { isBreached: p.isBreached as PasswordPolicy['isBreached'] })
  })
}

/** Validates the options once, at registration; every problem is a GK_CONFIG saying what to change. */
export function normalizeOptions (opts: JwtOptions): NormalizedJwtOptions {
  const o = object(opts, 'jwt options') as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KEYS.has(k)) configError(`unknown jwt option '${k}' (allowed: ${[...KEYS].join(', ')})`)
  // `secret: process.env.JWT_SECRET` with the variable unset: say so, not "give one of".
  if ('secret' in o && o.secret === undefined && o.keys === undefined) configError('secret is undefined: when it comes from the environment (secret: process.env.JWT_SECRET), set that variable to at least 32 random bytes (`openssl rand -base64 48`); or give keys (EdDSA, ES256 or RS256)')
  if ((o.secret === undefined) === (o.keys === undefined)) configError('give exactly one of secret (HS256, at least 32 bytes) or keys (EdDSA, ES256 or RS256)')
  const kids = new Set<string>()
  const keys = o.secret !== undefined ? [resolveSecret(o.secret)] : resolveKeys(o.keys, 'keys', kids)
  if (o.nextKeys !== undefined) {
    // An HMAC secret is never published, so there is nothing to announce ahead.
    if (o.keys === undefined) configError('nextKeys needs keys (EdDSA, ES256 or RS256): a secret is never published, rotate it by redeploying')
    keys.push(...resolveKeys(o.nextKeys, 'nextKeys', kids))
  }
  for (const name of ['issuer', 'audience'] as const) {
    if (typeof o[name] !== 'string' || (o[name] as string).length === 0) configError(`${name} is required: a non-empty string checked exactly on every token`)
  }
  // RFC 6749 Appendix A.1: client_id is 1*VSCHAR (printable ASCII and space).
  if (o.clientId !== undefined && (typeof o.clientId !== 'string' || !/^[\x20-\x7e]{1,256}$/.test(o.clientId))) {
    configError("clientId must be 1-256 printable ASCII characters, such as 'web-app' (default: the issuer)")
  }
  let cookieName: string | null = null
  if (o.cookie !== undefined && o.cookie !== false) {
    const c = object(o.cookie, 'cookie')
    allowed(c, 'cookie', ['name'])
    cookieName = c.name === undefined ? '__Host-gk_access' : String(c.name)
    if (!COOKIE_NAME.test(cookieName)) configError('cookie.name must be a cookie token such as __Host-gk_access')
  }
  const csrf = object(o.csrf ?? {}, 'csrf')
  allowed(csrf, 'csrf', ['header', 'origins'])
  const csrfHeader = csrf.header === undefined ? 'x-gk-csrf' : String(csrf.header)
  if (!HEADER_NAME.test(csrfHeader)) configError('csrf.header must be a header name such as x-gk-csrf')
  let origins: string[] | null = null
  if (csrf.origins !== undefined) {
    if (!Array.isArray(csrf.origins) || csrf.origins.some((x) => typeof x !== 'string' || !/^https?:\/\/[^/\s]+$/.test(x))) {
      configError("csrf.origins must be an array of origins such as 'https://app.example' (scheme and host, no path)")
    }
    origins = [...csrf.origins as string[]]
  }
  if (o.claims !== undefined && typeof o.claims !== 'function') configError('claims must be a function (user) => ({ ...extraClaims })')
  return Object.freeze({
    keys,
    asymmetric: o.keys !== undefined,
    issuer: o.issuer as string,
    audience: o.audience as string,
    clientId: (o.clientId ?? o.issuer) as string,
    ttlMs: boundedMs(o.accessTokenTtl as Duration | undefined, 'accessTokenTtl', '15m', 1000, 3_600_000),
    toleranceMs: boundedMs(o.clockTolerance as Duration | undefined, 'clockTolerance', '5s', 0, 300_000),
    cookieName,
    csrf: { header: csrfHeader.toLowerCase(), origins },
    routes: normalizeRoutes(o.routes),
    password: normalizePassword(o.password),
    defaultRoles: Object.freeze(o.defaultRoles === undefined ? ['user'] : roles(o.defaultRoles, 'defaultRoles')),
    ...(o.claims === undefined ? {} : { claims: o.claims as JwtOptions['claims'] }),
    cacheSize: int(o.cacheSize, 'cacheSize', 10_000, 0, 1_000_000),
    checkUser: normalizeCheckUser(o.checkUser)
  })
}
