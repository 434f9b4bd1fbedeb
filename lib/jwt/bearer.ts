import { errors } from '../core/errors.js'

/** Longest `Authorization` header value looked at; anything longer is malformed. */
export const MAX_AUTHORIZATION_LENGTH = 8200

function malformed (): never {
  throw new errors.GK_INVALID_REQUEST('malformed Authorization header')
}

/** RFC 6750 §2.1 b64token characters: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/". */
function isTokenChar (c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f
}

/**
 * Extracts the token of an `Authorization: Bearer <b64token>` header
 * (RFC 6750 §2.1, scheme case-insensitive per RFC 7235 §2.1). Returns `null`
 * when there is no header or it uses another scheme (another strategy may own
 * it); throws `GK_INVALID_REQUEST` when it says Bearer but is malformed.
 * One linear scan, no regular expression: no backtracking on hostile input.
 */
export function parseBearer (value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string') malformed()
  if (value.length < 6 || value.slice(0, 6).toLowerCase() !== 'bearer') return null
  if (value.length === 6) malformed()
  if (value.charCodeAt(6) !== 0x20) {
    // "Bearerx ..." is another scheme; "Bearer\t..." is a malformed Bearer header.
    return isTokenChar(value.charCodeAt(6)) ? null : malformed()
  }
  if (value.length > MAX_AUTHORIZATION_LENGTH) malformed()
  let i = 7
  while (i < value.length && value.charCodeAt(i) === 0x20) i++
  const start = i
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++
  if (i === start) malformed()
  // b64token ends with any number of "=" and nothing after them.
  while (i < value.length && value.charCodeAt(i) === 0x3d) i++
  if (i !== value.length) malformed()
  return value.slice(start)
}
