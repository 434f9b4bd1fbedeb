/**
 * What the token strategies need of DPoP without loading the proof
 * checker: the `DPoP` credential of an `Authorization` header, the key a
 * token is bound to, and the refusal of a bound token sent as Bearer.
 */
import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import { kChallenge, type Gatekeeper } from '../core/gatekeeper.js'
import type { AuthContext } from '../core/types.js'
import { assertB64Token, MAX_AUTHORIZATION_LENGTH } from '../jwt/bearer.js'
import { fieldOf } from '../core/json.js'

/**
 * The token of an `Authorization: DPoP <token>` header (scheme
 * case-insensitive, RFC 7235 §2.1; token in RFC 6750 b64token syntax, as
 * RFC 9449 §7.1 says), `null` for another scheme; throws
 * `GK_INVALID_REQUEST` when it says DPoP and is malformed.
 */
export function dpopCredential (value: string | string[] | undefined): string | null {
  if (typeof value !== 'string' || value.length < 5 || value.charCodeAt(4) !== 0x20 || value.slice(0, 4).toLowerCase() !== 'dpop') return null
  if (value.length > MAX_AUTHORIZATION_LENGTH) throw new errors.GK_INVALID_REQUEST('malformed Authorization header')
  const token = value.slice(5).replace(/^ +/, '')
  assertB64Token(token)
  return token
}

/** The `cnf.jkt` of verified claims (RFC 9449 §6.1), or `undefined` when the token is not DPoP-bound. */
export function boundKeyOf (claims: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const cnf = claims?.cnf
  const jkt = fieldOf(cnf, 'jkt')
  return typeof jkt === 'string' ? jkt : undefined
}

/**
 * A DPoP-bound token presented as Bearer, or in a cookie (RFC 9449 §7.1: a
 * downgrade): refused with the DPoP challenge, recorded as
 * `dpop.proof_refused` with cause `bearer_downgrade`.
 */
export function refuseDowngrade (gk: Gatekeeper, request: FastifyRequest, ctx: AuthContext): never {
  gk.record({ type: 'dpop.proof_refused', outcome: 'failure', reason: 'GK_TOKEN_INVALID', cause: 'bearer_downgrade', subject: ctx.subject }, request)
  throw Object.assign(new errors.GK_TOKEN_INVALID(), { [kChallenge]: 'DPoP' })
}
