import type { GatekeeperErrorCode } from '../core/errors.js'

/** The RFC 6749 §5.2 error codes the token endpoint answers with (and RFC 9449's). */
export const OAUTH_ERRORS = {
  invalid_request: { status: 400, code: 'GK_INVALID_REQUEST' },
  invalid_client: { status: 401, code: 'GK_INVALID_CREDENTIALS' },
  invalid_grant: { status: 400, code: 'GK_INVALID_GRANT' },
  unauthorized_client: { status: 400, code: 'GK_FORBIDDEN' },
  unsupported_grant_type: { status: 400, code: 'GK_INVALID_REQUEST' },
  invalid_scope: { status: 400, code: 'GK_INVALID_REQUEST' },
  // RFC 9449 §5, §8: a token request with a bad DPoP proof, or without the server's nonce.
  invalid_dpop_proof: { status: 400, code: 'GK_DPOP_PROOF_INVALID' },
  use_dpop_nonce: { status: 400, code: 'GK_DPOP_NONCE_REQUIRED' }
} as const satisfies Record<string, { status: number, code: GatekeeperErrorCode }>

/** An RFC 6749 §5.2 error name. */
export type OAuthErrorName = keyof typeof OAUTH_ERRORS

/**
 * An error of the token endpoint. It is sent as the RFC 6749 §5.2 body
 * `{ error, error_description?, code }`, where `code` is the matching `GK_`
 * code, so clients of the RFC and of the gatekeeper both find what they read.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorName
  readonly statusCode: number
  readonly code: GatekeeperErrorCode
  readonly description: string | undefined

  constructor (error: OAuthErrorName, description?: string) {
    super(description ?? error)
    this.error = error
    this.statusCode = OAUTH_ERRORS[error].status
    this.code = OAUTH_ERRORS[error].code
    this.description = description
  }

  /** The RFC 6749 §5.2 response body. */
  toJSON (): Record<string, string> {
    return this.description === undefined
      ? { error: this.error, code: this.code }
      : { error: this.error, error_description: this.description, code: this.code }
  }
}
