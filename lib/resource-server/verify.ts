import { errors as jose, jwtVerify, type CryptoKey, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { errors } from '../core/errors.js'
import { hasDuplicateKeys } from '../jwt/duplicate-keys.js'
import { isCanonicalJws, jwsText } from '../jwt/segments.js'
import { ProviderUnavailable } from './keys.js'
import type { NormalizedIssuer } from './options.js'
import { PRESETS, type Claims } from './presets.js'

export { isCanonicalJws }

/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192

/** Token types an introspection answer may name for an access token (RFC 6750, RFC 8693 §3). */
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'access_token', 'urn:ietf:params:oauth:token-type:access_token'])

function invalid (): never {
  throw new errors.GK_TOKEN_INVALID()
}

/**
 * The `iss` of a compact JWS, read before anything is verified or fetched
 * so that the issuer (and only its keys) can be chosen: `null` when the
 * token is not a JWS with a string `iss`. Not trusted beyond that choice.
 */
export function peekIssuer (token: string): string | null {
  const text = jwsText(token)
  if (text === null) return null
  try {
    const payload: unknown = JSON.parse(text.payload)
    if (payload === null || typeof payload !== 'object') return null
    const iss = (payload as Record<string, unknown>).iss
    return typeof iss === 'string' ? iss : null
  } catch {
    return null
  }
}

/** A verified JWT: its claims and the `kid` of the key that verified it. */
export interface Verified {
  claims: Claims
  kid: string | null
}

/**
 * Verifies a JWT of `issuer` with jose's `jwtVerify`: the algorithm from
 * the issuer's list and matching the key (jose picks the key of the token's
 * `kid` whose type fits `alg`), the signature, `iss` equal to the issuer,
 * the audience, `exp` (required) and `nbf` with the tolerance, and the RFC
 * 9068 `typ` when required. Before it, the encoding (RFC 7519 §7.2: UTF-8)
 * and one meaning per member (RFC 8725 §3.2: no duplicate names); after it,
 * `iat` not in the future. Throws `GK_TOKEN_EXPIRED`, `GK_TOKEN_INVALID` or
 * {@link ProviderUnavailable}.
 */
export async function verifyJwt (token: string, issuer: NormalizedIssuer, key: JWTVerifyGetKey | Uint8Array, now: number): Promise<Verified> {
  if (token.length > MAX_TOKEN_LENGTH || !isCanonicalJws(token)) invalid()
  const text = jwsText(token)
  if (text === null || hasDuplicateKeys(text.header) || hasDuplicateKeys(text.payload)) invalid()
  const audienceInAud = issuer.preset === null || PRESETS[issuer.preset].audienceClaim === 'aud'
  let result: Awaited<ReturnType<typeof jwtVerify>>
  try {
    const options = {
      issuer: issuer.issuer,
      algorithms: [...issuer.algorithms],
      clockTolerance: issuer.toleranceMs / 1000,
      currentDate: new Date(now),
      requiredClaims: ['exp', 'iss'],
      ...(audienceInAud ? { audience: [...issuer.audiences] } : {}),
      ...(issuer.requireTyp ? { typ: 'at+jwt' } : {})
    }
    result = key instanceof Uint8Array ? await jwtVerify(token, key, options) : await verifyWithSet(token, key, options)
  } catch (err) {
    if (err instanceof ProviderUnavailable) throw err
    if (err instanceof jose.JWTExpired) throw new errors.GK_TOKEN_EXPIRED()
    return invalid()
  }
  const { payload, protectedHeader } = result
  // RFC 7519 §4.1.6: a token issued in the future (past the tolerance) was not issued by a sane clock.
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat * 1000 > now + issuer.toleranceMs)) invalid()
  return { claims: payload, kid: typeof protectedHeader.kid === 'string' ? protectedHeader.kid : null }
}

/**
 * jose's `jwtVerify` with a key set; a token without `kid` that several keys
 * of the set could have signed is tried against each of them (jose leaves
 * that loop to its caller), so a set of several keys still verifies it.
 */
async function verifyWithSet (token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions): ReturnType<typeof jwtVerify> {
  try {
    return await jwtVerify(token, keys, options)
  } catch (err) {
    if (!(err instanceof jose.JWKSMultipleMatchingKeys)) throw err
    for await (const key of err as jose.JWKSMultipleMatchingKeys & AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(token, key, options)
      } catch (inner) {
        if (!(inner instanceof jose.JWSSignatureVerificationFailed)) throw inner
      }
    }
    throw new jose.JWSSignatureVerificationFailed()
  }
}

function audiences (value: unknown): string[] {
  if (typeof value === 'string') return [value]
  return Array.isArray(value) ? value.filter((a): a is string => typeof a === 'string') : []
}

/**
 * Checks an active introspection answer (RFC 7662 §2.2) as a JWT's claims
 * are checked: `iss` (when present) is the issuer, the audience is ours
 * (required: an answer that names no audience cannot say the token is for
 * this API), `exp` and `nbf` with the tolerance, and a `token_type` (when
 * present) of an access token.
 */
export function checkIntrospected (claims: Claims, issuer: NormalizedIssuer, now: number): void {
  if (claims.iss !== undefined && claims.iss !== issuer.issuer) invalid()
  if (!audiences(claims.aud).some((a) => issuer.audiences.includes(a))) invalid()
  const tol = issuer.toleranceMs
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number') invalid()
    if (now >= claims.exp * 1000 + tol) throw new errors.GK_TOKEN_EXPIRED()
  }
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf * 1000 > now + tol)) invalid()
  if (claims.token_type !== undefined && (typeof claims.token_type !== 'string' || !ACCESS_TOKEN_TYPES.has(claims.token_type.toLowerCase()))) invalid()
}
