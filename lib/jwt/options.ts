import Type, { type Static, type TInteger } from 'typebox'
import { boundedMs } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { checkOptions, dottedVoice, DurationOption, FunctionOption } from '../core/options-schema.js'
import { resolveKeys, resolveSecret, type JwtKey, type ResolvedKey } from './keys.js'
import { OWASP_ARGON2, type PasswordPolicy } from './passwords.js'
import type { TokenSubject } from './types.js'

const PATH = '^/[A-Za-z0-9\\-._~/]*$'
const TOKEN = "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]{1,64}$"
const Path = Type.String({ pattern: PATH, errorMessage: "must be a path starting with '/'" })
const Int = (min: number, max: number, before = ''): TInteger => Type.Integer({ minimum: min, maximum: max, errorMessage: `${before}must be an integer from ${min} to ${max}` })
const ORIGINS = "must be an array of origins such as 'https://app.example' (scheme and host, no path)"
const VOICE = dottedVoice('jwt options', '', (key, allowed) => `unknown jwt option '${key}' (allowed: ${allowed.join(', ')})`)
const required = 'is required: a non-empty string checked exactly on every token'

/** Options of the `jwt` plugin. */
export const JwtOptionsSchema = Type.Object({
  /** HS256 secret of at least 32 bytes. Give either `secret` or `keys`. */
  secret: Type.Optional(Type.Unsafe<string | Buffer>({})),
  /** Asymmetric keys: the first signs, all verify; served at `/.well-known/jwks.json`. */
  keys: Type.Optional(Type.Unsafe<JwtKey[]>({})),
  /**
   * Keys published in the JWK Set (and accepted by verification) before they
   * sign: the first step of a key rotation, so verifiers that cache the JWKS
   * know the next key before any token uses it. Needs `keys`.
   */
  nextKeys: Type.Optional(Type.Unsafe<JwtKey[]>({})),
  /** The `iss` claim: set on tokens, required on verification (exact match). */
  issuer: Type.String({ minLength: 1, errorMessage: required }),
  /** The `aud` claim: set on tokens, required on verification (exact match). */
  audience: Type.String({ minLength: 1, errorMessage: required }),
  /** Access-token lifetime (default `'15m'`, at most `'60m'`). */
  accessTokenTtl: Type.Optional(DurationOption),
  /** Allowed clock skew for `exp`, `nbf` and `iat` (default `'5s'`, at most `'5m'`). */
  clockTolerance: Type.Optional(DurationOption),
  /** Cookie transport of the access token (default `false`: header only). */
  cookie: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    name: Type.Optional(Type.String({ pattern: TOKEN, errorMessage: 'must be a cookie token such as __Host-gk_access' }))
  }, { additionalProperties: false })], { errorMessage: 'must be false or { name? }' })),
  /** CSRF defence of cookie-authenticated unsafe requests. */
  csrf: Type.Optional(Type.Object({
    header: Type.Optional(Type.String({ pattern: TOKEN, errorMessage: 'must be a header name such as x-gk-csrf' })),
    origins: Type.Optional(Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$' }), { errorMessage: ORIGINS }))
  }, { additionalProperties: false, errorMessage: 'must be an object' })),
  /** The plugin's routes; `false` registers none (use the decorators). */
  routes: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    prefix: Type.Optional(Type.Union([Type.Literal(''), Path], { errorMessage: "must be a path starting with '/'" })),
    login: Type.Optional(Path),
    logout: Type.Optional(Path),
    /** `false` (default), `true` (`/register`) or a path. */
    register: Type.Optional(Type.Union([Type.Boolean(), Path], { errorMessage: 'must be false, true or a path' })),
    /** The password-change route (default `'/password'`), or `false`. */
    password: Type.Optional(Type.Union([Type.Literal(false), Path], { errorMessage: "must be false or a path starting with '/'" }))
  }, { additionalProperties: false })], { errorMessage: 'must be false or { prefix?, login?, logout?, register?, password? }' })),
  /** Password policy and argon2id cost. */
  password: Type.Optional(Type.Object({
    minLength: Type.Optional(Int(8, 64)),
    maxLength: Type.Optional(Int(64, 1024)),
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1 is the floor, never below.
    argon2: Type.Optional(Type.Object({
      memoryCost: Type.Optional(Int(OWASP_ARGON2.memoryCost, 4_194_304, `(KiB, OWASP minimum ${OWASP_ARGON2.memoryCost}) `)),
      timeCost: Type.Optional(Int(OWASP_ARGON2.timeCost, 50, `(OWASP minimum ${OWASP_ARGON2.timeCost}) `)),
      parallelism: Type.Optional(Int(OWASP_ARGON2.parallelism, 64))
    }, { additionalProperties: false, errorMessage: 'must be an object' })),
    blocklist: Type.Optional(Type.Array(Type.String(), { errorMessage: 'must be an array of strings' })),
    isBreached: Type.Optional(FunctionOption<(password: string) => boolean | Promise<boolean>>('must be a function (password) => boolean | Promise<boolean>'))
  }, { additionalProperties: false, errorMessage: 'must be an object' })),
  /** Roles given to accounts created through the register route (default `['user']`). */
  defaultRoles: Type.Optional(Type.Array(Type.String({ minLength: 1, errorMessage: 'must be a role name' }), { errorMessage: 'must be an array of role names' })),
  /**
   * The `client_id` claim (RFC 9068 §2.2, required) of tokens this app issues
   * to itself: password and OpenID Connect logins, refreshes. Default: the
   * `issuer` (a first-party token is issued by the app to the app). Tokens of
   * the oauth2 token endpoint carry their OAuth client's id instead.
   */
  // RFC 6749 Appendix A.1: client_id is 1*VSCHAR (printable ASCII and space).
  clientId: Type.Optional(Type.String({ pattern: '^[\\x20-\\x7e]{1,256}$', errorMessage: "must be 1-256 printable ASCII characters, such as 'web-app' (default: the issuer)" })),
  /** Extra claims for a user's tokens; registered claims cannot be overridden. */
  claims: Type.Optional(FunctionOption<(user: TokenSubject) => Record<string, unknown> | Promise<Record<string, unknown>>>('must be a function (user) => ({ ...extraClaims })')),
  /** Bound of the verified-token cache (default 10000 entries; 0 disables it). */
  cacheSize: Type.Optional(Int(0, 1_000_000)),
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
  checkUser: Type.Optional(Type.Union([Type.Boolean(), Type.Object({
    cacheTtl: Type.Optional(DurationOption)
  }, { additionalProperties: false })], { errorMessage: '(true, false or { cacheTtl }) must be an object' }))
}, { additionalProperties: false, errorMessage: 'must be an object' })

/** Options of the `jwt` plugin. */
export type JwtOptions = Static<typeof JwtOptionsSchema>

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

function normalizeRoutes (r: JwtOptions['routes']): NormalizedJwtOptions['routes'] {
  if (r === false) return null
  const prefix = (r?.prefix ?? '/api').replace(/\/+$/, '')
  const register = r?.register === true ? '/register' : r?.register === false ? null : r?.register ?? null
  const password = r?.password === false ? null : r?.password ?? '/password'
  return {
    login: prefix + (r?.login ?? '/login'),
    logout: prefix + (r?.logout ?? '/logout'),
    register: register === null ? null : prefix + register,
    password: password === null ? null : prefix + password
  }
}

function normalizeCheckUser (c: JwtOptions['checkUser']): NormalizedJwtOptions['checkUser'] {
  if (c === undefined || c === false) return null
  if (c === true) return { cacheTtlMs: 5000 }
  return { cacheTtlMs: boundedMs(c.cacheTtl, 'checkUser.cacheTtl', '5s', 0, 300_000) }
}

function normalizePassword (p: JwtOptions['password'] = {}): PasswordPolicy {
  const minLength = p.minLength ?? 8
  const maxLength = p.maxLength ?? 128
  if (maxLength < minLength) configError('password.maxLength must not be below password.minLength')
  const argon2 = Object.freeze({ ...OWASP_ARGON2, ...p.argon2 })
  return Object.freeze({
    minLength,
    maxLength,
    argon2,
    blocklist: new Set((p.blocklist ?? []).map((w) => w.normalize('NFKC').toLowerCase())),
    ...(p.isBreached === undefined ? {} : { isBreached: p.isBreached })
  })
}

/** Validates the options once, at registration; every problem is a GK_CONFIG saying what to change. */
export function normalizeOptions (opts: JwtOptions): NormalizedJwtOptions {
  const o = checkOptions(JwtOptionsSchema, opts, VOICE)
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
  return Object.freeze({
    keys,
    asymmetric: o.keys !== undefined,
    issuer: o.issuer,
    audience: o.audience,
    clientId: o.clientId ?? o.issuer,
    ttlMs: boundedMs(o.accessTokenTtl, 'accessTokenTtl', '15m', 1000, 3_600_000),
    toleranceMs: boundedMs(o.clockTolerance, 'clockTolerance', '5s', 0, 300_000),
    cookieName: o.cookie === undefined || o.cookie === false ? null : o.cookie.name ?? '__Host-gk_access',
    csrf: { header: (o.csrf?.header ?? 'x-gk-csrf').toLowerCase(), origins: o.csrf?.origins === undefined ? null : [...o.csrf.origins] },
    routes: normalizeRoutes(o.routes),
    password: normalizePassword(o.password),
    defaultRoles: Object.freeze([...o.defaultRoles ?? ['user']]),
    ...(o.claims === undefined ? {} : { claims: o.claims }),
    cacheSize: o.cacheSize ?? 10_000,
    checkUser: normalizeCheckUser(o.checkUser)
  })
}
