import { createHash } from 'node:crypto'
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose'
import { normalizeHtu } from './htu.js'
import type { DpopAlgorithm } from './options.js'

/** Why a proof was refused: recorded in the audit trail, never sent. */
export const PROOF_FAILURES = [
  'missing', 'multiple', 'malformed', 'typ', 'alg', 'jwk', 'private_key', 'weak_key', 'signature',
  'jti', 'htm', 'htu', 'iat_stale', 'iat_future', 'ath', 'jkt', 'replay', 'nonce'
] as const
/** One of {@link PROOF_FAILURES}. */
export type ProofFailure = typeof PROOF_FAILURES[number]

/** A refused proof; `reason` is for the audit trail only. */
export class ProofError extends Error {
  readonly reason: ProofFailure
  constructor (reason: ProofFailure) {
    super(`DPoP proof refused: ${reason}`)
    this.reason = reason
  }
}

function refuse (reason: ProofFailure): never {
  throw new ProofError(reason)
}

/** Longest proof looked at: an RSA-4096 `jwk` and the claims fit well below it. */
export const MAX_PROOF_LENGTH = 4096
/** Longest `jti` accepted. */
export const MAX_JTI_LENGTH = 256

/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** What the proof must match. */
export interface ProofExpectation {
  /** The request method (`htm`). */
  method: string
  /** The request URL, normalised (`htu`). */
  htu: string
  /** The access token the proof goes with (a resource request): its hash must be `ath`. */
  accessToken?: string
  /** The thumbprint the token is bound to (`cnf.jkt`). */
  jkt?: string
  algorithms: readonly DpopAlgorithm[]
  maxAgeMs: number
  toleranceMs: number
  now: number
}

/** A proof that passed every check but the replay and nonce checks, which need state. */
export interface CheckedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key. */
  jkt: string
  jti: string
  /** Seconds. */
  iat: number
  nonce: unknown
}

/** base64url(SHA-256(token)): the `ath` of a proof for `token` (RFC 9449 §4.2). */
export function accessTokenHash (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

function checkKey (alg: DpopAlgorithm, jwk: unknown): JWK {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) refuse('jwk')
  const k = jwk as Record<string, unknown>
  // §4.3 item 7: the key in the header is public; a private key there is a leak, never a proof.
  for (const m of PRIVATE_MEMBERS) if (m in k) refuse('private_key')
  switch (alg) {
    case 'ES256':
      if (k.kty !== 'EC' || k.crv !== 'P-256') refuse('jwk')
      break
    case 'EdDSA':
    case 'Ed25519':
      if (k.kty !== 'OKP' || k.crv !== 'Ed25519') refuse('jwk')
      break
    default: {
      if (k.kty !== 'RSA' || typeof k.n !== 'string') refuse('jwk')
      // RFC 7518 §3.3 / §3.5: RSA keys of 2048 bits or more.
      const n = Buffer.from(k.n, 'base64url')
      const bits = n.length * 8 - (n[0] === undefined ? 8 : Math.clz32(n[0]) - 24)
      if (bits < 2048) refuse('weak_key')
    }
  }
  return k as JWK
}

/** Public keys of recent proofs, imported: a client signs every proof with one key. */
const IMPORTED_MAX = 1000
type Imported = { key: Awaited<ReturnType<typeof importJWK>>, jkt: string }
const imported = new Map<string, Promise<Imported>>()

/**
 * `importJWK(jwk, alg)` and the key's RFC 7638 thumbprint, remembered for
 * the last {@link IMPORTED_MAX} keys by the exact header member and
 * algorithm (so a hit is what the same input would give). Only public keys
 * reach it (see `checkKey`); a failed import is not remembered.
 */
function importedKey (jwk: JWK, alg: string): Promise<Imported> {
  const id = `${alg}\0${JSON.stringify(jwk)}`
  let key = imported.get(id)
  if (key === undefined) {
    key = Promise.all([importJWK(jwk, alg), calculateJwkThumbprint(jwk, 'sha256')]).then(([k, jkt]) => ({ key: k, jkt }))
    key.catch(() => { imported.delete(id) })
    if (imported.size >= IMPORTED_MAX) imported.delete(imported.keys().next().value as string)
    imported.set(id, key)
  }
  return key
}

/**
 * Checks a DPoP proof against RFC 9449 §4.3 items 1–12 except the `jti`
 * replay and the nonce (their state lives in the caller): one well-formed
 * JWS, `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` that
 * verifies the signature, `jti`, `htm`, `htu`, `iat` within the window,
 * `ath` for the access token, and the key's thumbprint equal to `jkt`.
 */
export async function checkProof (proof: string, x: ProofExpectation): Promise<CheckedProof> {
  if (proof.length === 0 || proof.length > MAX_PROOF_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof)) refuse('malformed')
  let header: Record<string, unknown>
  try {
    header = decodeProtectedHeader(proof) as Record<string, unknown>
  } catch {
    return refuse('malformed')
  }
  if (header.typ !== 'dpop+jwt') refuse('typ')
  const alg = header.alg
  if (typeof alg !== 'string' || !(x.algorithms as readonly string[]).includes(alg)) refuse('alg')
  const jwk = checkKey(alg as DpopAlgorithm, header.jwk)
  let payload: Record<string, unknown>
  let jkt: string
  try {
    const { key, jkt: thumbprint } = await importedKey(jwk, alg as string)
    jkt = thumbprint
    const verified = await compactVerify(proof, key, { algorithms: [alg] })
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(verified.payload)) as Record<string, unknown>
  } catch {
    return refuse('signature')
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) refuse('malformed')
  const { jti, htm, htu, iat, ath } = payload
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) refuse('jti')
  if (htm !== x.method) refuse('htm')
  if (typeof htu !== 'string' || htu.length > 2048 || normalizeHtu(htu) !== x.htu) refuse('htu')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) refuse('iat_stale')
  if (iat * 1000 < x.now - x.maxAgeMs) refuse('iat_stale')
  if (iat * 1000 > x.now + x.toleranceMs) refuse('iat_future')
  if (x.accessToken !== undefined && ath !== accessTokenHash(x.accessToken)) refuse('ath')
  if (x.jkt !== undefined && jkt !== x.jkt) refuse('jkt')
  return { jkt, jti, iat, nonce: payload.nonce }
}
