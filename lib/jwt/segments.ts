import { isUtf8 } from 'node:buffer'

/** The JOSE header and the payload of a compact JWS, as text. */
export interface JwsText {
  header: string
  payload: string
}

/**
 * The header and payload segments of a compact JWS decoded from base64url,
 * or `null` when either is not valid UTF-8 (RFC 7519 §7.2 steps 4 and 10:
 * each must be "a UTF-8-encoded representation of a completely valid JSON
 * object"). A lenient decoder would turn the bad bytes into U+FFFD, so
 * different bytes would mean the same claims.
 */
export function jwsText (token: string): JwsText | null {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 0 || second < 0) return null
  const header = Buffer.from(token.slice(0, first), 'base64url')
  const payload = Buffer.from(token.slice(first + 1, second), 'base64url')
  if (!isUtf8(header) || !isUtf8(payload)) return null
  return { header: header.toString('utf8'), payload: payload.toString('utf8') }
}
