import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto'
import { configError, hasCode } from '../core/errors.js'
import { isRecord } from '../core/json.js'

/** The asymmetric algorithms a key may use (RFC 8725 §3.1: one algorithm per key, pinned). */
export const KEY_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
/** An asymmetric signing algorithm. */
export type KeyAlgorithm = typeof KEY_ALGORITHMS[number]

/** Key material: PEM text, a DER/PEM buffer or a `KeyObject`. */
export type KeyInput = string | Buffer | KeyObject

/** One signing key: the first of `keys` signs, every one verifies. */
export interface JwtKey {
  /** Key id, put in the `kid` header and the JWKS. */
  kid: string
  algorithm: KeyAlgorithm
  /** Needed on the first key only (the signing one). */
  privateKey?: KeyInput
  publicKey: KeyInput
}

/** A key after validation. */
export interface ResolvedKey {
  /** `null` for the HMAC secret (tokens carry no `kid`). */
  kid: string | null
  algorithm: KeyAlgorithm | 'HS256'
  /** What fast-jwt verifies with. */
  verifyKey: KeyObject
  /** What fast-jwt signs with; `null` for verify-only keys. */
  signKey: KeyObject | null
}

/** The smallest HMAC secret (RFC 7518 §3.2: at least the hash output size). */
export const MIN_SECRET_BYTES = 32
/** The smallest RSA modulus accepted (RFC 7518 §3.3, NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048

const KID = /^[\x21-\x7e]{1,128}$/

/** Validates the `secret` option; returns the HS256 key. */
export function resolveSecret (secret: unknown): ResolvedKey {
  let bytes: Buffer
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8')
  else if (Buffer.isBuffer(secret)) bytes = Buffer.from(secret)
  else return configError('secret must be a string or a Buffer of at least 32 bytes (generate one with `openssl rand -base64 48`)')
  if (bytes.length < MIN_SECRET_BYTES) {
    configError(`secret is ${bytes.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES} (generate one with \`openssl rand -base64 48\`)`)
  }
  const key = createSecretKey(bytes)
  return { kid: null, algorithm: 'HS256', verifyKey: key, signKey: key }
}

function toPublic (input: unknown, where: string): KeyObject {
  try {
    if (input instanceof KeyObject) {
      const k = input
      if (k.type === 'secret') configError(`${where} must be an asymmetric key, not a secret`)
      return k.type === 'private' ? createPublicKey(k) : k
    }
    if (typeof input !== 'string' && !Buffer.isBuffer(input)) configError(`${where} must be PEM text, a Buffer or a KeyObject`)
    return createPublicKey(input)
  } catch (err) {
    if (hasCode(err, 'GK_CONFIG')) throw err
    return configError(`${where} is not a readable public key (PEM, SPKI)`)
  }
}

function toPrivate (input: unknown, where: string): KeyObject {
  try {
    if (input instanceof KeyObject) {
      const k = input
      if (k.type !== 'private') configError(`${where} must be a private key`)
      return k
    }
    if (typeof input !== 'string' && !Buffer.isBuffer(input)) configError(`${where} must be PEM text, a Buffer or a KeyObject`)
    return createPrivateKey(input)
  } catch (err) {
    if (hasCode(err, 'GK_CONFIG')) throw err
    return configError(`${where} is not a readable private key (PEM, PKCS#8)`)
  }
}

function checkKeyType (key: KeyObject, algorithm: KeyAlgorithm, where: string): void {
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails ?? {}
  if (algorithm === 'EdDSA' && type !== 'ed25519') configError(`${where}: EdDSA needs an Ed25519 key (got ${type ?? 'unknown'})`)
  if (algorithm === 'ES256' && (type !== 'ec' || details.namedCurve !== 'prime256v1')) configError(`${where}: ES256 needs a P-256 EC key`)
  if (algorithm === 'RS256') {
    if (type !== 'rsa') configError(`${where}: RS256 needs an RSA key (got ${type ?? 'unknown'})`)
    const bits = details.modulusLength ?? 0
    if (bits < MIN_RSA_BITS) configError(`${where}: the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`)
  }
}

/**
 * Validates the `keys` option (`name` `'keys'`): the first key must have a
 * private key (it signs). With `name` `'nextKeys'`, keys published before
 * they sign: none signs, so none needs a private key. `seen` holds the kids
 * already used, across both lists.
 */
export function resolveKeys (keys: unknown, name: 'keys' | 'nextKeys' = 'keys', seen = new Set<string>()): ResolvedKey[] {
  if (!Array.isArray(keys) || keys.length === 0) configError(`${name} must be a non-empty array of { kid, algorithm, privateKey?, publicKey }`)
  return keys.map((raw: unknown, i: number): ResolvedKey => {
    const where = `${name}[${i}]`
    if (!isRecord(raw)) configError(`${where} must be an object { kid, algorithm, privateKey?, publicKey }`)
    const k = raw
    for (const name of Object.keys(k)) {
      if (!['kid', 'algorithm', 'privateKey', 'publicKey'].includes(name)) configError(`${where}: unknown field '${name}' (allowed: kid, algorithm, privateKey, publicKey)`)
    }
    if (typeof k.kid !== 'string' || !KID.test(k.kid)) configError(`${where}.kid must be 1-128 printable ASCII characters without spaces`)
    if (seen.has(k.kid)) configError(`${where}.kid '${k.kid}' is used twice; every key needs its own kid`)
    seen.add(k.kid)
    const algorithm = KEY_ALGORITHMS.find((a) => a === k.algorithm)
    if (algorithm === undefined) configError(`${where}.algorithm must be one of ${KEY_ALGORITHMS.join(', ')}`)
    if (k.publicKey === undefined) configError(`${where}.publicKey is required`)
    const verifyKey = toPublic(k.publicKey, `${where}.publicKey`)
    checkKeyType(verifyKey, algorithm, `${where}.publicKey`)
    let signKey: KeyObject | null = null
    if (k.privateKey !== undefined) {
      signKey = toPrivate(k.privateKey, `${where}.privateKey`)
      const derived = createPublicKey(signKey).export({ format: 'der', type: 'spki' })
      if (!derived.equals(verifyKey.export({ format: 'der', type: 'spki' }))) {
        configError(`${where}: privateKey and publicKey are not a pair`)
      }
    } else if (i === 0 && name === 'keys') {
      configError('keys[0] signs new tokens, so it needs a privateKey (list verify-only keys after it)')
    }
    return { kid: k.kid, algorithm, verifyKey, signKey }
  })
}
