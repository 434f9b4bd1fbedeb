import type { FastifyReply, FastifyRequest } from 'fastify'
import { CHECKSUM_LENGTH, isWellFormed, RANDOM_LENGTH } from '../api-key/format.js'
import { errors, isGatekeeperError, hasCode } from '../core/errors.js'
import type { AuthContext, Strategy } from '../core/types.js'
import { boundKeyOf, dpopCredential } from '../dpop/bound.js'
import type { DpopService } from '../dpop/service.js'
import { assertB64Token, bearerCredential } from '../jwt/bearer.js'
import { TokenCache, tokenKey } from '../jwt/cache.js'
import { STRATEGY_NAME, toCaller, type CallerDeps } from './claims.js'
import type { IssuerRuntime } from './issuer.js'
import { ProviderUnavailable, type RemoteKeys } from './keys.js'
import type { Claims } from './presets.js'
import { checkIntrospected, peekIssuer, verifyJwt } from './verify.js'

/** One verified token: its caller, and what may later void it (its issuer's key being withdrawn). */
interface Cached {
  ctx: AuthContext
  issuer: string
  /** The key that verified it; `undefined` for an introspected token. */
  kid: string | null | undefined
  /** Its issuer's key set, refreshed behind a use once stale (`null`: a shared secret or introspection). */
  keys: RemoteKeys | null
}

/** What the strategy is built from. */
export interface StrategyDeps {
  issuers: readonly IssuerRuntime[]
  scopes: readonly string[]
  cacheSize: number
  now: () => number
  caller: CallerDeps
  /** Seconds a client should wait after a 503 (the key-fetch cooldown). */
  retryAfterS: number
  /** DPoP (RFC 9449), once the dpop plugin is registered: proofs of bound tokens and the refusal of a Bearer-presented one. */
  dpop: {
    service: () => DpopService | undefined
    downgrade: (request: FastifyRequest, ctx: AuthContext) => never
  }
}

const API_KEY_TAIL = 1 + RANDOM_LENGTH + CHECKSUM_LENGTH
const DPOP_SCHEMES = Object.freeze(['Bearer', 'DPoP'])

/** Whether a token has the shape of this library's API keys (`<prefix>_<30 base62><CRC32>`): such a secret is never sent to a provider. */
function looksLikeApiKey (token: string): boolean {
  return token.length > API_KEY_TAIL && isWellFormed(token, token.slice(0, token.length - API_KEY_TAIL))
}

function dotsIn (token: string): number {
  let n = 0
  for (let i = token.indexOf('.'); i !== -1; i = token.indexOf('.', i + 1)) n++
  return n
}

/**
 * The `resourceServer` strategy: a Bearer token from a configured issuer.
 * A token seen before answers from the cache synchronously (one SHA-256 and
 * a map lookup, as the jwt plugin's own tokens do); a new JWT is verified
 * with jose against its issuer's keys, an opaque token introspected. A JWT
 * of an issuer not configured here, or an opaque token without
 * introspection, is not this strategy's (`null`: another Bearer strategy
 * may own it, else the core refuses it as an invalid token).
 */
export class ResourceServerStrategy implements Strategy {
  readonly name = STRATEGY_NAME
  readonly scheme = 'Bearer'
  readonly #d: StrategyDeps
  readonly #byIssuer: ReadonlyMap<string, IssuerRuntime>
  readonly #introspecting: IssuerRuntime | null
  readonly #cache: TokenCache<Cached>
  readonly #inactive: TokenCache<true>
  readonly #pending = new Map<string, Promise<AuthContext>>()

  constructor (d: StrategyDeps) {
    this.#d = d
    this.#byIssuer = new Map(d.issuers.map((i) => [i.config.issuer, i]))
    this.#introspecting = d.issuers.find((i) => i.introspector !== null) ?? null
    this.#cache = new TokenCache(d.cacheSize)
    this.#inactive = new TokenCache(d.cacheSize === 0 ? 0 : Math.max(2, Math.floor(d.cacheSize / 10)))
  }

  /** OpenAPI security schemes, one per issuer (any one satisfies the strategy). */
  get securitySchemes (): Record<string, Record<string, unknown>> {
    return Object.fromEntries(this.#d.issuers.map((i) => [i.config.name, i.securityScheme(this.#d.scopes)]))
  }

  /** The number of cached verified tokens. */
  get cacheSize (): number {
    return this.#cache.size
  }

  /** `['Bearer', 'DPoP']` once the dpop plugin is registered. */
  get schemes (): readonly string[] | undefined {
    return this.#d.dpop.service() === undefined ? undefined : DPOP_SCHEMES
  }

  authenticate (request: FastifyRequest, reply: FastifyReply): AuthContext | null | Promise<AuthContext> {
    const dpop = this.#d.dpop.service()
    const dpopToken = dpop === undefined ? null : dpopCredential(request.headers.authorization)
    const token = dpopToken ?? bearerCredential(request.headers.authorization)
    if (token === null) return null
    // RFC 9449 §7.1: a bound token (`cnf.jkt` from its issuer) goes with a proof by its key, never as Bearer.
    const bind = (ctx: AuthContext): AuthContext | Promise<AuthContext> => dpop !== undefined && dpopToken !== null
      ? dpop.authenticate(request, reply, token, ctx)
      : boundKeyOf(ctx.claims) === undefined ? ctx : this.#d.dpop.downgrade(request, ctx)
    const result = this.check(token)
    if (result === null) return null
    if (!(result instanceof Promise)) return bind(result)
    return result.then(bind).catch((err: unknown) => {
      if (hasCode(err, 'GK_PROVIDER_UNAVAILABLE')) reply.header('retry-after', String(this.#d.retryAfterS))
      throw err
    })
  }

  /**
   * The caller of `token`: synchronously from the cache, else a promise;
   * `null` when the token is not this strategy's. Throws (or rejects with)
   * `GK_TOKEN_INVALID`, `GK_TOKEN_EXPIRED`, `GK_INVALID_REQUEST` or
   * `GK_PROVIDER_UNAVAILABLE`.
   */
  check (token: string): AuthContext | null | Promise<AuthContext> {
    const key = tokenKey(token)
    const now = this.#d.now()
    const hit = this.#cache.get(key, now)
    if (hit !== undefined) {
      if (hit === 'expired') throw new errors.GK_TOKEN_EXPIRED()
      const keys = hit.keys
      if (keys !== null && now >= keys.staleAt) keys.refreshIfStale()
      return hit.ctx
    }
    assertB64Token(token)
    const dots = dotsIn(token)
    if (dots === 2) {
      // The issuer is chosen by exact match before anything is fetched; its keys alone can verify the token.
      const iss = peekIssuer(token)
      const issuer = iss === null ? undefined : this.#byIssuer.get(iss)
      if (issuer === undefined) return null
      return this.#once(key, async () => await this.#jwt(token, key, issuer))
    }
    const introspecting = this.#introspecting
    if (dots !== 0 || introspecting === null || looksLikeApiKey(token)) return null
    if (this.#inactive.get(key, now) === true) throw new errors.GK_TOKEN_INVALID()
    return this.#once(key, async () => await this.#opaque(token, key, introspecting))
  }

  /** Concurrent first uses of one token share one verification. */
  #once (key: string, run: () => Promise<AuthContext>): Promise<AuthContext> {
    let p = this.#pending.get(key)
    if (p === undefined) {
      p = run().catch((err: unknown) => { throw toGatekeeperError(err) }).finally(() => { this.#pending.delete(key) })
      this.#pending.set(key, p)
    }
    return p
  }

  async #jwt (token: string, key: string, issuer: IssuerRuntime): Promise<AuthContext> {
    const cfg = issuer.config
    const { claims, kid } = await verifyJwt(token, cfg, issuer.key, this.#d.now())
    const ctx = toCaller(claims, cfg, this.#d.caller)
    this.#cache.set(key, { ctx, issuer: cfg.issuer, kid, keys: issuer.knownKeys }, (claims.exp as number) * 1000 + cfg.toleranceMs)
    return ctx
  }

  async #opaque (token: string, key: string, issuer: IssuerRuntime): Promise<AuthContext> {
    const cfg = issuer.config
    const settings = cfg.introspection as NonNullable<typeof cfg.introspection>
    const claims: Claims | null = await (issuer.introspector as NonNullable<typeof issuer.introspector>).introspect(token)
    const now = this.#d.now()
    if (claims === null) {
      this.#inactive.set(key, true, now + settings.inactiveTtlMs)
      throw new errors.GK_TOKEN_INVALID()
    }
    checkIntrospected(claims, cfg, now)
    const ctx = toCaller(claims, cfg, this.#d.caller, 'introspection')
    // Reused no longer than the configured time, and never past the token's own expiry.
    const until = typeof claims.exp === 'number' ? Math.min(now + settings.cacheTtlMs, claims.exp * 1000) : now + settings.cacheTtlMs
    if (until > now) this.#cache.set(key, { ctx, issuer: cfg.issuer, kid: undefined, keys: null }, until)
    return ctx
  }

  /** Forgets tokens of `issuer` verified by a key it no longer publishes. */
  evictWithdrawn (issuer: string, kids: ReadonlySet<string | null>): number {
    return this.#cache.deleteWhere((c) => c.issuer === issuer && c.kid !== undefined && !kids.has(c.kid))
  }

  /** Forgets every cached token (of one issuer when given). */
  evict (issuer?: string): void {
    if (issuer === undefined) this.#cache.clear()
    else this.#cache.deleteWhere((c) => c.issuer === issuer)
  }
}

/** Any failure as the `GK_` error to send: a provider problem is 503, anything unexpected an invalid token. */
function toGatekeeperError (err: unknown): Error {
  if (err instanceof ProviderUnavailable) return new errors.GK_PROVIDER_UNAVAILABLE()
  if (isGatekeeperError(err)) return err
  return new errors.GK_TOKEN_INVALID()
}
