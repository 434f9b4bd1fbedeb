/**
 * RFC 6750 §3 / RFC 7235 §4.1 `WWW-Authenticate` challenges.
 * The realm is validated at registration, so it needs no escaping here.
 */

/** The RFC 6750 §3.1 error names. */
export type ChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/** One challenge: `Bearer realm="api"` or `Bearer realm="api", error="invalid_token"`. */
export function challenge (scheme: string, realm: string, error?: ChallengeError): string {
  return error === undefined
    ? `${scheme} realm="${realm}"`
    : `${scheme} realm="${realm}", error="${error}"`
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
    default: return undefined
  }
}

/** A realm must be a plain quoted-string body: no quotes, backslashes or controls. */
export function isValidRealm (realm: unknown): realm is string {
  return typeof realm === 'string' && realm.length > 0 && realm.length <= 100 && /^[\x20-\x7e]+$/.test(realm) && !/["\\]/.test(realm)
}
