import { errors } from '../core/errors.js'

/** Longest `Authorization` header value looked at; anything longer is malformed. */
export const MAX_AUTHORIZATION_LENGTH = 8200

function malformed (): never {
  throw new errors.GK_INVALID_REQUEST('malformed Authorization header')
}

/** RFC 6750 §2.1 b64token characters: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/". */
const TOKEN_CHARS = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  TOKEN_CHARS[c] = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f
    ? 1
    : 0
}

function isTokenChar (c: number): boolean {
  return c < 128 && TOKEN_CHARS[c] === 1
}

/** "bearer" compared case-insensitively (RFC 7235 §2.1) without allocating. */
function isBearerScheme (v: string): boolean {
  return v.length >= 6 &&
    (v.charCodeAt(0) | 0x20) === 0x62 && (v.charCodeAt(1) | 0x20) === 0x65 && (v.charCodeAt(2) | 0x20) === 0x61 &&
    (v.charCodeAt(3) | 0x20) === 0x72 && (v.charCodeAt(4) | 0x20) === 0x65 && (v.charCodeAt(5) | 0x20) === 0x72
}

/**
 * The credential part of an `Authorization: Bearer …` header, not yet
 * checked against the b64token syntax (see {@link assertB64Token}): `null`
 * when there is no header or it uses another scheme (another strategy may
 * own it); throws `GK_INVALID_REQUEST` when it says Bearer but has no token.
 */
export function bearerCredential (value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string') malformed()
  if (!isBearerScheme(value)) return null
  if (value.length === 6) malformed()
  if (value.charCodeAt(6) !== 0x20) {
    // "Bearerx ..." is another scheme; "Bearer\t..." is a malformed Bearer header.
    return isTokenChar(value.charCodeAt(6)) ? null : malformed()
  }
  if (value.length > MAX_AUTHORIZATION_LENGTH) malformed()
  let i = 7
  while (i < value.length && value.charCodeAt(i) === 0x20) i++
  if (i === value.length) malformed()
  return i === 7 ? value.slice(7) : value.slice(i)
}

/**
 * Throws `GK_INVALID_REQUEST` unless `token` is an RFC 6750 §2.1 b64token:
 * token characters, then any number of "=" and nothing after them. One
 * linear scan, no regular expression: no backtracking on hostile input.
 */
export function assertB64Token (token: string): void {
  let i = 0
  while (i < token.length && isTokenChar(token.charCodeAt(i))) i++
  if (i === 0) malformed()
  while (i < token.length && token.charCodeAt(i) === 0x3d) i++
  if (i !== token.length) malformed()
}

/**
 * Extracts and checks the token of an `Authorization: Bearer <b64token>`
 * header (RFC 6750 §2.1, scheme case-insensitive per RFC 7235 §2.1).
 * Returns `null` when there is no header or it uses another scheme; throws
 * `GK_INVALID_REQUEST` when it says Bearer but is malformed.
 */
export function parseBearer (value: string | string[] | undefined): string | null {
  const token = bearerCredential(value)
  if (token !== null) assertB64Token(token)
  return token
}
