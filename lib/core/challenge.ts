/**
 * RFC 6750 §3 / RFC 7235 §4.1 `WWW-Authenticate` challenges.
 * The realm is validated at registration, so it needs no escaping here.
 */

/** The RFC 6750 §3.1 error names, and RFC 9449 §7.1 and §9's for the DPoP scheme. */
export type ChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof' | 'use_dpop_nonce'

/**
 * One challenge: `Bearer realm="api"` or `Bearer realm="api", error="invalid_token"`;
 * `params` (already formatted, such as DPoP's `algs="ES256 EdDSA"`) follow the realm.
 */
export function challenge (scheme: string, realm: string, error?: ChallengeError, params?: string): string {
  const head = params === undefined || params === '' ? `${scheme} realm="${realm}"` : `${scheme} realm="${realm}", ${params}`
  return error === undefined ? head : `${head}, error="${error}"`
}

/** The auth-scheme of an `Authorization` value, lower-cased (`'bearer'`, `'dpop'`), or `null`. */
export function authScheme (header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null
  const space = header.indexOf(' ')
  if (space <= 0 || space > 32 || space === header.length - 1) return null
  return header.slice(0, space).toLowerCase()
}

/** The RFC 6750 error that matches a `GK_` error code, if any. */
export function challengeErrorFor (code: string | undefined): ChallengeError | undefined {
  switch (code) {
    case 'GK_INVALID_REQUEST': return 'invalid_request'
    case 'GK_FORBIDDEN': return 'insufficient_scope'
    case 'GK_TOKEN_INVALID':
    case 'GK_TOKEN_EXPIRED':
    case 'GK_INVALID_GRANT':
      return 'invalid_token'
    case 'GK_DPOP_PROOF_INVALID': return 'invalid_dpop_proof'
    case 'GK_DPOP_NONCE_REQUIRED': return 'use_dpop_nonce'
    default: return undefined
  }
}

/** A realm must be a plain quoted-string body: no quotes, backslashes or controls. */
export function isValidRealm (realm: unknown): realm is string {
  return typeof realm === 'string' && realm.length > 0 && realm.length <= 100 && /^[\x20-\x7e]+$/.test(realm) && !/["\\]/.test(realm)
}
