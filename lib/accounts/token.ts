import { createHash, randomBytes } from 'node:crypto'

/** Length of an account token: 32 random bytes (256 bits) in base64url, no padding. */
export const ACCOUNT_TOKEN_LENGTH = 43

const FORMAT = /^[A-Za-z0-9_-]{43}$/

/** A fresh account token and the hash that is stored in its place. */
export interface NewToken {
  /** The token itself: it goes into the mailed link and nowhere else. */
  token: string
  /** SHA-256 of the token, hex: the only form the store keeps. */
  hash: string
}

/** SHA-256 of a token, hex. A 256-bit random token needs no salt or slow hash: it cannot be guessed. */
export function hashAccountToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Whether `value` has the shape of an account token (checked before any store read). */
export function isAccountTokenFormat (value: unknown): value is string {
  return typeof value === 'string' && value.length === ACCOUNT_TOKEN_LENGTH && FORMAT.test(value)
}

/** 256 bits from the CSPRNG. */
export function newAccountToken (): NewToken {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashAccountToken(token) }
}
