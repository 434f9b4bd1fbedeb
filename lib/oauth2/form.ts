import { OAuthError } from './errors.js'

/** Largest token-request body read (form parameters of a few hundred bytes). */
export const FORM_BODY_LIMIT = 4096

/**
 * Parses an `application/x-www-form-urlencoded` body. A parameter sent more
 * than once is refused (RFC 6749 §3.2: parameters MUST NOT be included more
 * than once), so no reader can pick a different copy than another.
 */
export function parseForm (body: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of new URLSearchParams(body)) {
    if (out.has(k)) throw new OAuthError('invalid_request', `parameter ${k.slice(0, 40)} repeated`)
    out.set(k, v)
  }
  return out
}

/**
 * The client id and secret of an `Authorization: Basic` header (RFC 6749
 * §2.3.1, RFC 7617): each is form-urlencoded before the base64 step, so it
 * is decoded after splitting at the first colon. `null` for another scheme
 * or no header; throws `invalid_client` when it says Basic but is malformed.
 */
export function parseBasic (header: string | string[] | undefined): { id: string, secret: string } | null {
  if (header === undefined) return null
  if (typeof header !== 'string') throw new OAuthError('invalid_request', 'several Authorization headers')
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return null
  const b64 = header.slice(6).trim()
  if (b64.length === 0 || b64.length > 1024 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new OAuthError('invalid_client')
  const decoded = Buffer.from(b64, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) throw new OAuthError('invalid_client')
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '))
    }
  } catch {
    throw new OAuthError('invalid_client')
  }
}

/** RFC 6749 §3.3 scope-token characters: %x21 / %x23-5B / %x5D-7E. */
function isScopeToken (s: string): boolean {
  if (s.length === 0 || s.length > 128) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x21 || c === 0x22 || c === 0x5c || c > 0x7e) return false
  }
  return true
}

/**
 * The scopes granted for a requested `scope` parameter: all of the client's
 * when absent (RFC 6749 §3.3 lets the server pick a default), else the
 * requested ones, each of which the client must hold (`invalid_scope`).
 */
export function grantScopes (requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed]
  // Space-delimited (§3.3); an empty or malformed list is invalid too.
  const wanted = requested.split(' ')
  if (wanted.length > 64 || !wanted.every(isScopeToken)) throw new OAuthError('invalid_scope')
  for (const s of wanted) if (!allowed.includes(s)) throw new OAuthError('invalid_scope')
  return [...new Set(wanted)]
}
