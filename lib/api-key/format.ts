import { randomBytes } from 'node:crypto'

/**
 * The API key format, after GitHub's tokens: `<prefix>_<30 base62><6 base62 CRC32>`.
 * The checksum lets a typo or a truncated key be refused without a store
 * read, and lets secret scanners recognise a key with few false positives.
 */

/** The base62 alphabet, in the order of its digit values. */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** Random base62 characters in a key: 30 × log2(62) ≈ 178 bits of entropy. */
export const RANDOM_LENGTH = 30
/** Base62 characters of the CRC32 checksum (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6
/** Characters of the random part shown in a key's visible `start`. */
export const START_LENGTH = 4

// 248 = 4 × 62: bytes at or above it are rejected so every character is
// equally likely (plain `byte % 62` would favour the first 8 characters).
const REJECT_AT = 248

const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < BASE62.length; i++) DIGIT[BASE62.charCodeAt(i)] = i

const CRC_TABLE = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  CRC_TABLE[n] = c
}

/** A valid key prefix: 2–8 lowercase ASCII letters or digits. */
export function isValidPrefix (prefix: unknown): prefix is string {
  if (typeof prefix !== 'string' || prefix.length < 2 || prefix.length > 8) return false
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i)
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return false
  }
  return true
}

/** CRC-32 (IEEE 802.3, as zlib) of the UTF-16 code units of an ASCII string, from `start` to `end`. */
export function crc32 (text: string, start = 0, end = text.length): number {
  let crc = -1
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}

/** `value` (an unsigned 32-bit integer) as exactly six base62 digits, most significant first. */
export function checksumOf (value: number): string {
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
}

/** `count` base62 characters from the CSPRNG, without modulo bias. */
export function randomBase62 (count: number): string {
  let out = ''
  while (out.length < count) {
    // About 3% of bytes are rejected; asking for a quarter more avoids a second round almost always.
    const bytes = randomBytes(Math.ceil((count - out.length) * 1.25) + 2)
    for (let i = 0; i < bytes.length && out.length < count; i++) {
      const b = bytes[i]
      if (b < REJECT_AT) out += BASE62[b % 62]
    }
  }
  return out
}

/** The length of every key with this prefix. */
export function keyLength (prefix: string): number {
  return prefix.length + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH
}

/** A new key: `<prefix>_`, 30 random base62 characters, then the checksum of all that precedes it. */
export function generateKey (prefix: string): string {
  const body = `${prefix}_${randomBase62(RANDOM_LENGTH)}`
  return body + checksumOf(crc32(body))
}

/** The part of a key people may see: the prefix and the first characters of the random part. */
export function visibleStart (key: string, prefix: string): string {
  return key.slice(0, prefix.length + 1 + START_LENGTH)
}

/**
 * Whether `key` has the exact shape of a key with this prefix and a correct
 * checksum. Linear in the key's length and without regular expressions, so
 * hostile input cannot make it slow; anything too long is refused at once.
 */
export function isWellFormed (key: string, prefix: string): boolean {
  const p = prefix.length
  if (key.length !== p + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH) return false
  if (!key.startsWith(prefix) || key.charCodeAt(p) !== 0x5f) return false
  const bodyEnd = p + 1 + RANDOM_LENGTH
  let sum = 0
  for (let i = p + 1; i < key.length; i++) {
    const c = key.charCodeAt(i)
    const d = c < 128 ? DIGIT[c] : -1
    if (d < 0) return false
    if (i >= bodyEnd) sum = sum * 62 + d
  }
  // The checksum is public (it is derived from the key), so a plain comparison leaks nothing.
  return sum === crc32(key, 0, bodyEnd)
}

/**
 * Finds a well-formed key of this prefix inside `text` (a URL's query
 * string), so a key sent where it would be logged can be refused.
 */
export function containsKey (text: string, prefix: string, from = 0): boolean {
  const marker = `${prefix}_`
  const len = keyLength(prefix)
  let at = text.indexOf(marker, from)
  while (at !== -1 && at + len <= text.length) {
    if (isWellFormed(text.slice(at, at + len), prefix)) return true
    at = text.indexOf(marker, at + 1)
  }
  return false
}
