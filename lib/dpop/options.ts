import Type, { type Static } from 'typebox'
import { boundedMs } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { checkOptions } from '../core/options-schema.js'

/**
 * The proof algorithms this library verifies: asymmetric only (RFC 9449 §4.3
 * item 5), RSA with keys of 2048 bits or more; `Ed25519` is the fully
 * specified name of EdDSA over Ed25519 (RFC 9864), which newer clients send.
 */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] as const
/** One of {@link DPOP_ALGORITHMS}. */
export type DpopAlgorithm = typeof DPOP_ALGORITHMS[number]

const Duration = Type.Union([Type.String(), Type.Integer({ minimum: 0 })], { errorMessage: "must be a duration such as '60s' or a number of milliseconds" })
const Algorithm = Type.Union([Type.Literal('ES256'), Type.Literal('EdDSA'), Type.Literal('Ed25519'), Type.Literal('RS256'), Type.Literal('PS256')], { errorMessage: `must be one of ${DPOP_ALGORITHMS.join(', ')}` })

/** Options of the `dpop` plugin. */
export const DpopOptionsSchema = Type.Object({
  /**
   * `'allowed'` (default): DPoP-bound and Bearer tokens are both taken;
   * `'required'`: only callers that prove possession of a key get tokens and
   * pass routes (a route's `config.auth.dpop` overrides it).
   */
  policy: Type.Optional(Type.Union([Type.Literal('allowed'), Type.Literal('required')], { errorMessage: "must be 'allowed' or 'required'" })),
  /** Proof algorithms accepted (default: all of ES256, EdDSA, RS256, PS256). */
  algorithms: Type.Optional(Type.Array(Algorithm, { minItems: 1, errorMessage: `must be a non-empty array of ${DPOP_ALGORITHMS.join(', ')}` })),
  /** How old a proof's `iat` may be (default `'60s'`, from `'5s'` to `'5m'`); also how long its `jti` is remembered. */
  maxAge: Type.Optional(Duration),
  /** How far in the future a proof's `iat` may be, for clock skew (default `'5s'`, at most `'60s'`). */
  clockTolerance: Type.Optional(Duration),
  /**
   * The origin clients address (`https://api.example`), for the `htu` check
   * behind a proxy that rewrites the host or scheme. Without it the origin is
   * the request's own, read through Fastify's `trustProxy`.
   */
  publicOrigin: Type.Optional(Type.String({ minLength: 1, errorMessage: "must be an origin such as 'https://api.example'" })),
  /** Server nonces (RFC 9449 §8, §9): `true`, or `{ secret, ttl }` (default `false`). */
  nonce: Type.Optional(Type.Union([
    Type.Boolean(),
    Type.Object({
      /** HMAC key of the nonces, at least 32 bytes; give every instance the same one (default: random per process). */
      secret: Type.Optional(Type.Union([Type.String(), Type.Unsafe<Uint8Array>({})])),
      /** How long a nonce is good for (default `'5m'`, from `'10s'` to `'1h'`). */
      ttl: Type.Optional(Duration)
    }, { additionalProperties: false })
  ], { errorMessage: 'must be true, false or { secret?, ttl? }' })),
  /** Bound of the in-memory `jti` cache (default 1,000,000 entries); past it the oldest go and proofs as old are refused. */
  replayCacheSize: Type.Optional(Type.Integer({ minimum: 1000, maximum: 50_000_000, errorMessage: 'must be an integer from 1000 to 50000000' }))
}, { additionalProperties: false, errorMessage: 'must be an object { policy?, algorithms?, maxAge?, clockTolerance?, publicOrigin?, nonce?, replayCacheSize? }' })

/** Options of the `dpop` plugin. */
export type DpopOptions = Static<typeof DpopOptionsSchema>

/** The options, checked and normalised once. */
export interface NormalizedDpopOptions {
  readonly policy: 'allowed' | 'required'
  readonly algorithms: readonly DpopAlgorithm[]
  readonly maxAgeMs: number
  readonly toleranceMs: number
  readonly publicOrigin: string | null
  readonly nonce: { readonly secret: Buffer | null, readonly ttlMs: number } | null
  readonly replayCacheSize: number
}

/** Validates the options (GK_CONFIG naming what to change) and returns them frozen. */
export function normalizeDpopOptions (opts: DpopOptions | undefined): NormalizedDpopOptions {
  const o = checkOptions(DpopOptionsSchema, opts ?? {}, 'dpop')
  let publicOrigin: string | null = null
  if (o.publicOrigin !== undefined) {
    let url: URL | null = null
    try { url = new URL(o.publicOrigin) } catch {}
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || /[?#]/.test(o.publicOrigin) || !/^https?:\/\/[^/]+\/?$/i.test(o.publicOrigin)) {
      configError(`dpop publicOrigin must be an origin such as 'https://api.example' (scheme and host, no path); got '${o.publicOrigin}'`)
    }
    publicOrigin = url.origin
  }
  let nonce: NormalizedDpopOptions['nonce'] = null
  if (o.nonce !== undefined && o.nonce !== false) {
    const n = o.nonce === true ? {} : o.nonce
    let secret: Buffer | null = null
    if (n.secret !== undefined) {
      secret = typeof n.secret === 'string' ? Buffer.from(n.secret) : Buffer.from(n.secret as Uint8Array)
      if (secret.length < 32) configError("dpop nonce.secret must be at least 32 bytes: generate one with crypto.randomBytes(32).toString('base64')")
    }
    nonce = Object.freeze({ secret, ttlMs: boundedMs(n.ttl, 'dpop nonce.ttl', '5m', 10_000, 3_600_000) })
  }
  return Object.freeze({
    policy: o.policy ?? 'allowed',
    algorithms: Object.freeze([...new Set(o.algorithms ?? DPOP_ALGORITHMS)]),
    maxAgeMs: boundedMs(o.maxAge, 'dpop maxAge', '60s', 5000, 300_000),
    toleranceMs: boundedMs(o.clockTolerance, 'dpop clockTolerance', '5s', 0, 60_000),
    publicOrigin,
    nonce,
    replayCacheSize: o.replayCacheSize ?? 1_000_000
  })
}
