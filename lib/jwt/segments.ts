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

/** Values of the base64url alphabet (RFC 4648 §5), -1 outside it. */
const B64URL = new Int8Array(128).fill(-1)
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) B64URL[c.charCodeAt(0)] = i

/**
 * Whether every segment of a compact JWS is canonical unpadded base64url
 * (RFC 7515 §2, RFC 4648 §3.5): the unused low bits of the last character
 * are zero. A decoder ignores them, so without this check one token would
 * have several spellings, each verifying (a fuzz target of the resourceServer strategy found one;
 * the jwt plugin's ES256 and EdDSA tokens had it too).
 */
export function isCanonicalJws (token: string): boolean {
  let start = 0
  for (let i = 0; i <= token.length; i++) {
    if (i < token.length && token.charCodeAt(i) !== 0x2e) {
      const c = token.charCodeAt(i)
      if (c >= 128 || (B64URL[c]) < 0) return false
      continue
    }
    const length = i - start
    const rest = length % 4
    if (rest === 1) return false
    if (rest !== 0) {
      const last = B64URL[token.charCodeAt(i - 1)]
      if ((last & (rest === 2 ? 0x0f : 0x03)) !== 0) return false
    }
    start = i + 1
  }
  return true
}
