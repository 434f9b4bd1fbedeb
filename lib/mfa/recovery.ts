import { createHash, randomInt } from 'node:crypto'

/** How many recovery codes a user gets. */
export const RECOVERY_CODE_COUNT = 10

// Crockford's base32 without the letters people misread (I, L, O, U): 5 bits a character.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A new code: 16 characters (80 bits) in groups of four, `7K3M-Q9TX-…`. */
export function newRecoveryCode (): string {
  let s = ''
  for (let i = 0; i < 16; i++) {
    if (i > 0 && i % 4 === 0) s += '-'
    s += ALPHABET[randomInt(ALPHABET.length)]
  }
  return s
}

/** The canonical form of a typed code: upper case, without separators and spaces; `null` when it cannot be one. */
export function canonicalRecoveryCode (input: string): string | null {
  const c = input.toUpperCase().replace(/[\s-]/g, '')
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(c) ? c : null
}

/**
 * The stored form: SHA-256 of the canonical code, hex. 80 random bits need no
 * slow hash: nobody can run through 2^80 candidates.
 */
export function hashRecoveryCode (canonical: string): string {
  return createHash('sha256').update(`gk-recovery:${canonical}`).digest('hex')
}
