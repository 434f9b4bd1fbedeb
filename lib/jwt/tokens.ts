import { randomBytes } from 'node:crypto'
import { createDecoder, createSigner, createVerifier } from 'fast-jwt'
import { errors } from '../core/errors.js'
import { fieldOf, isRecord } from '../core/json.js'
import type { AuthContext } from '../core/types.js'
import { TokenCache, tokenKey } from './cache.js'
import { hasDuplicateKeys } from './duplicate-keys.js'
import type { ResolvedKey } from './keys.js'
import { isCanonicalJws, jwsText } from './segments.js'
import type { AccessTokenClaims, IssuedToken, IssueExtra, TokenApi, TokenSubject } from './types.js'

/** The `typ` header of access tokens (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = 'at+jwt'
/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192
/** The longest lifetime (`exp - iat`) of a token we accept: the largest `accessTokenTtl` allowed, 60 minutes. */
export const MAX_LIFETIME_MS = 3_600_000

/** Claims the token service sets itself; `claims(user)` cannot override them. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['sub', 'roles', 'iat', 'exp', 'nbf', 'iss', 'aud', 'jti', 'kind', 'scopes', 'client_id', 'sid', 'amr', 'auth_time', 'cnf'])

/** Header parameters that would let a token choose its own key or demand unknown processing (RFC 8725 §3.1, §2.4; RFC 7515 §4.1.11). */
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'crit', 'cty', 'zip', 'enc'] as const

/** What the token service is built from (once, at registration). */
export interface TokenServiceOptions {
  keys: readonly ResolvedKey[]
  issuer: string
  audience: string
  /** The `client_id` of tokens issued without `extra.clientId` (first-party logins). */
  clientId: string
  ttlMs: number
  toleranceMs: number
  now: () => number
  permissionsOf: (roles: readonly string[]) => readonly string[]
  claims?: (user: TokenSubject) => Record<string, unknown> | Promise<Record<string, unknown>>
  /** The roles a user's token carries (default: `user.roles`); the jwt plugin's role filters. Not applied to application tokens. */
  rolesOf?: (user: TokenSubject) => readonly string[]
  /** Bound of the verified-token cache (0 disables it). */
  cacheMax: number
}

interface Verifier {
  algorithm: string
  /** fast-jwt's complete verification result, read through {@link parts}. */
  verify: (token: string) => unknown
}

type Decoded = { header: Record<string, unknown>, payload: Record<string, unknown> }

function invalid (): never {
  throw new errors.GK_TOKEN_INVALID()
}

/** The header and payload of a complete decoding or verification result. */
function parts (v: unknown): Decoded {
  if (!isRecord(v) || !isRecord(v.header) || !isRecord(v.payload)) invalid()
  return { header: v.header, payload: v.payload }
}

/** Freezes a verified payload all the way down: cached contexts are shared by every request with that token. */
function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/** An RFC 9449 §6.1 confirmation: `{ jkt }`, a base64url SHA-256 thumbprint, and nothing else. */
function isConfirmation (v: unknown): boolean {
  if (!isRecord(v)) return false
  const keys = Object.keys(v)
  const jkt = v.jkt
  return keys.length === 1 && typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt)
}

function isStringArray (v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string')
}

/** Claims that carry what every access token we issue carries (as verified by {@link TokenService}). */
function isAccessTokenClaims (c: unknown): c is AccessTokenClaims {
  return isRecord(c) && typeof c.sub === 'string' && isStringArray(c.roles) && typeof c.iat === 'number' && typeof c.exp === 'number' &&
    typeof c.iss === 'string' && (typeof c.aud === 'string' || isStringArray(c.aud)) && typeof c.jti === 'string'
}

function keyMaterial (key: ResolvedKey, use: 'sign' | 'verify'): string | Buffer {
  const k = use === 'sign' ? key.signKey : key.verifyKey
  if (k === null) throw new Error('no signing key')
  if (k.type === 'secret') return k.export()
  return use === 'sign' ? k.export({ format: 'pem', type: 'pkcs8' }) : k.export({ format: 'pem', type: 'spki' })
}

/**
 * Issues and verifies access tokens. Signer and verifiers are built once;
 * verified tokens are cached (keyed by their SHA-256) until their `exp`, so a
 * repeated token costs one hash and one map lookup, synchronously.
 */
export class TokenService implements TokenApi {
  readonly #opts: TokenServiceOptions
  readonly #sign: (payload: Record<string, unknown>) => string
  readonly #byKid = new Map<string | null, Verifier>()
  readonly #decode = createDecoder({ complete: true })
  readonly #cache: TokenCache<AuthContext>

  constructor (opts: TokenServiceOptions) {
    this.#opts = opts
    const signing = opts.keys[0]
    this.#sign = createSigner<Record<string, unknown>>({
      key: keyMaterial(signing, 'sign'),
      algorithm: signing.algorithm,
      ...(signing.kid === null ? {} : { kid: signing.kid }),
      header: { alg: signing.algorithm, typ: ACCESS_TOKEN_TYP }
    })
    for (const key of opts.keys) {
      this.#byKid.set(key.kid, {
        algorithm: key.algorithm,
        verify: createVerifier({
          key: keyMaterial(key, 'verify'),
          algorithms: [key.algorithm],
          complete: true,
          cache: false,
          checkTyp: ACCESS_TOKEN_TYP,
          allowedIss: opts.issuer,
          allowedAud: opts.audience,
          // exp, nbf and iat are checked below against the injectable clock.
          ignoreExpiration: true,
          ignoreNotBefore: true,
          requiredClaims: ['sub', 'roles', 'iat', 'exp', 'iss', 'aud', 'jti']
        })
      })
    }
    this.#cache = new TokenCache(opts.cacheMax)
  }

  /** The number of cached verified tokens. */
  get cacheSize (): number {
    return this.#cache.size
  }

  /** Forgets cached tokens of `subject` (all when omitted), so their next use is verified again. */
  evict (subject?: string): void {
    if (subject === undefined) this.#cache.clear()
    else this.#cache.deleteWhere((ctx) => ctx.subject === subject)
  }

  /** Signs an access token for `user`. */
  async issue (user: TokenSubject, extra: IssueExtra = {}): Promise<IssuedToken> {
    const o = this.#opts
    const custom = o.claims === undefined ? {} : await o.claims(user)
    const payload: Record<string, unknown> = {}
    if (custom !== null && typeof custom === 'object') {
      for (const [k, v] of Object.entries(custom)) if (!RESERVED_CLAIMS.has(k)) payload[k] = v
    }
    const iat = Math.floor(o.now() / 1000)
    const expiresIn = Math.floor(o.ttlMs / 1000)
    payload.sub = String(user.id)
    payload.roles = [...(extra.kind === 'application' || o.rolesOf === undefined ? user.roles : o.rolesOf(user))]
    if (extra.kind === 'application') payload.kind = 'application'
    if (extra.scopes !== undefined) payload.scopes = [...extra.scopes]
    // RFC 9068 §2.2: every access token names the client it was issued to.
    payload.client_id = extra.clientId ?? o.clientId
    if (extra.sessionId !== undefined) payload.sid = extra.sessionId
    if (extra.amr !== undefined && extra.amr.length > 0) payload.amr = [...extra.amr]
    if (extra.authTime !== undefined) payload.auth_time = Math.floor(extra.authTime / 1000)
    // RFC 9449 §6.1: the token is bound to the key the client proved it holds.
    if (extra.jkt !== undefined) payload.cnf = { jkt: extra.jkt }
    payload.iss = o.issuer
    payload.aud = o.audience
    payload.iat = iat
    payload.exp = iat + expiresIn
    payload.jti = randomBytes(16).toString('base64url')
    return { accessToken: this.#sign(payload), tokenType: extra.jkt === undefined ? 'Bearer' : 'DPoP', expiresIn }
  }

  /** Verifies a token and returns its claims. */
  async verify (token: string): Promise<AccessTokenClaims> {
    const claims = this.authenticate(token).claims
    if (!isAccessTokenClaims(claims)) invalid()
    return claims
  }

  /**
   * Verifies a token (or finds it in the cache) and returns the caller.
   * Synchronous; throws `GK_TOKEN_EXPIRED` or `GK_TOKEN_INVALID`.
   */
  authenticate (token: string): AuthContext {
    return this.cached(token) ?? this.verifyFresh(token)
  }

  /**
   * The caller of a token verified before and still cached, or `null` on a
   * miss; throws `GK_TOKEN_EXPIRED` when the cached token has expired since.
   * A hit is byte-identical to a token that passed every check.
   */
  cached (token: string): AuthContext | null {
    const hit = this.#cache.get(tokenKey(token), this.#opts.now())
    if (hit === undefined) return null
    if (hit === 'expired') throw new errors.GK_TOKEN_EXPIRED()
    return hit
  }

  /**
   * Whether `token` names another issuer in its (unverified) `iss`: it can
   * never pass this service's checks, so it is left to another strategy
   * (tokens of an external authorization server) instead of refused here.
   */
  isForeign (token: string): boolean {
    const text = jwsText(token)
    if (text === null) return false
    try {
      const iss = fieldOf(JSON.parse(text.payload), 'iss')
      return typeof iss === 'string' && iss !== this.#opts.issuer
    } catch {
      return false
    }
  }

  /** Verifies a token that is not cached and caches it when it passes. */
  verifyFresh (token: string): AuthContext {
    const o = this.#opts
    const ctx = this.#verify(token, o.now())
    // #verify refused any token without a numeric exp.
    const exp = ctx.claims?.exp
    this.#cache.set(tokenKey(token), ctx, (typeof exp === 'number' ? exp : 0) * 1000 + o.toleranceMs)
    return ctx
  }

  #verify (token: string, now: number): AuthContext {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) invalid()
    let decoded: Decoded
    try {
      decoded = parts(this.#decode(token))
    } catch {
      return invalid()
    }
    // RFC 7519 §7.2: header and payload are UTF-8; RFC 8725 §3.2: one meaning per token, so no duplicate member names.
    const text = jwsText(token)
    if (text === null || !isCanonicalJws(token) || hasDuplicateKeys(text.header) || hasDuplicateKeys(text.payload)) invalid()
    const header = decoded.header
    // RFC 8725 §3.1: the algorithm comes from our key, never from the token; `none` in any case is refused here.
    if (typeof header.alg !== 'string') invalid()
    for (const name of FORBIDDEN_HEADERS) if (name in header) invalid()
    const kid = header.kid === undefined ? null : header.kid
    if (kid !== null && typeof kid !== 'string') invalid()
    const verifier = this.#byKid.get(kid)
    if (verifier === undefined || verifier.algorithm !== header.alg) invalid()
    let payload: Record<string, unknown>
    try {
      payload = parts(verifier.verify(token)).payload
    } catch {
      return invalid()
    }
    const tol = this.#opts.toleranceMs
    const { sub, roles, iat, exp, nbf, jti, kind, scopes } = payload
    if (typeof sub !== 'string' || sub.length === 0 || !isStringArray(roles) || typeof jti !== 'string') invalid()
    if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) invalid()
    if (iat * 1000 > now + tol) invalid()
    // No token we issue lives longer than the largest accessTokenTtl: a longer-lived one is not ours (RFC 8725 §3.10).
    if ((exp - iat) * 1000 > MAX_LIFETIME_MS) invalid()
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf * 1000 > now + tol)) invalid()
    if (kind !== undefined && kind !== 'user' && kind !== 'application') invalid()
    if (scopes !== undefined && !isStringArray(scopes)) invalid()
    if (payload.client_id !== undefined && typeof payload.client_id !== 'string') invalid()
    if (payload.sid !== undefined && (typeof payload.sid !== 'string' || payload.sid.length === 0)) invalid()
    if (payload.amr !== undefined && !isStringArray(payload.amr)) invalid()
    if (payload.auth_time !== undefined && (typeof payload.auth_time !== 'number' || !Number.isFinite(payload.auth_time) || payload.auth_time * 1000 > now + tol)) invalid()
    if (payload.cnf !== undefined && !isConfirmation(payload.cnf)) invalid()
    // RFC 7519 §4.1.4: the token is refused on or after exp (plus the tolerance for clock skew).
    if (now >= exp * 1000 + tol) throw new errors.GK_TOKEN_EXPIRED()
    const ctx: AuthContext = {
      strategy: 'jwt',
      kind: kind === 'application' ? 'application' : 'user',
      subject: sub,
      roles: Object.freeze([...roles]),
      permissions: this.#opts.permissionsOf(roles),
      tokenId: jti,
      claims: deepFreeze(payload)
    }
    if (scopes !== undefined) ctx.scopes = Object.freeze([...scopes])
    return Object.freeze(ctx)
  }
}
