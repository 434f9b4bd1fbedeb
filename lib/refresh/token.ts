import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

/** Bytes of CSPRNG output in a refresh token (256 bits). */
export const TOKEN_BYTES = 32
/** Characters of a refresh token: 32 bytes in unpadded base64url. */
export const TOKEN_LENGTH = 43

const ALPHABET = /^[A-Za-z0-9_-]{43}$/
/**
 * The 43rd character encodes the last 4 bits of the token followed by two
 * zero bits, so only these 16 characters can end a canonical token.
 */
const LAST_CHARS = new Set('AEIMQUYcgkosw048')

/** A new refresh token: 256 bits from the CSPRNG, base64url without padding. */
export function generateToken (): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

/**
 * Whether `value` has the exact shape of a refresh token. Checked before any
 * store read, so garbage, access tokens (JWTs contain dots) and oversized
 * input cost nothing but this test.
 */
export function isTokenFormat (value: unknown): value is string {
  return typeof value === 'string' && value.length === TOKEN_LENGTH && ALPHABET.test(value) &&
    LAST_CHARS.has(value[TOKEN_LENGTH - 1])
}

/** SHA-256 of a token, hex: the only form in which tokens are stored. */
export function hashToken (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Compares two hex hashes in constant time. */
export function hashesEqual (a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The shortest `secret` accepted (bytes). */
export const MIN_SECRET_BYTES = 32

/**
 * The successor-derivation key, derived with HKDF-SHA256 (RFC 5869) from the
 * plugin's `secret`, so every instance given the same secret derives the same
 * key and the raw secret is never used directly.
 */
export function deriveSuccessorKey (secret: string | Buffer): Buffer {
  const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'fastify-gatekeeper refresh successor v1', TOKEN_BYTES))
}

/**
 * The successor of `parent`: HMAC-SHA256(key, parent), base64url. Deterministic,
 * so a client whose refresh response was lost gets the same successor again
 * inside the grace window without the plaintext ever being stored; keyed, so
 * whoever holds only the parent cannot compute the child offline.
 */
export function deriveSuccessor (key: Buffer, parent: string): string {
  return createHmac('sha256', key).update(parent, 'utf8').digest('base64url')
}
