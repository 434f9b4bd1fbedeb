import { createError } from '@fastify/error'
import { fieldOf } from './json.js'

/**
 * Every error the gatekeeper raises. Callers match on `err.code`, never on the
 * message. Messages never say which part of a credential failed.
 */
export const errors = {
  /** No usable credential was presented (401). */
  GK_UNAUTHORIZED: createError('GK_UNAUTHORIZED', 'Authentication required', 401),
  /** The access token is past its expiry (401). */
  GK_TOKEN_EXPIRED: createError('GK_TOKEN_EXPIRED', 'Access token expired', 401),
  /** The credential was present but is not valid (401). */
  GK_TOKEN_INVALID: createError('GK_TOKEN_INVALID', 'Invalid credentials', 401),
  /** Authenticated, but not allowed to do this (403). */
  GK_FORBIDDEN: createError('GK_FORBIDDEN', 'Insufficient permissions', 403),
  /** The request is malformed (400); `%s` says what, never with a secret in it. */
  GK_INVALID_REQUEST: createError('GK_INVALID_REQUEST', 'Invalid request: %s', 400),
  /** Login failed: unknown user, wrong password and disabled account alike (401). */
  GK_INVALID_CREDENTIALS: createError('GK_INVALID_CREDENTIALS', 'Invalid username or password', 401),
  /** The password was right, but the account's email address must be verified first (403; the `accounts` plugin's `requireVerifiedEmail`). */
  GK_EMAIL_NOT_VERIFIED: createError('GK_EMAIL_NOT_VERIFIED', 'Email address not verified', 403),
  /**
   * The access token is valid but its authentication falls short of the
   * route's step-up requirement: no second factor, or too long ago (401,
   * `WWW-Authenticate: Bearer error="insufficient_user_authentication"`, RFC 9470).
   */
  GK_INSUFFICIENT_AUTHENTICATION: createError('GK_INSUFFICIENT_AUTHENTICATION', 'A stronger or more recent authentication is required', 401),
  /** Too many failed logins (429, with Retry-After). */
  GK_ACCOUNT_LOCKED: createError('GK_ACCOUNT_LOCKED', 'Too many failed attempts, try again later', 429),
  /** Too many requests (429, with Retry-After). */
  GK_RATE_LIMITED: createError('GK_RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429),
  /** A refresh token or grant is not valid (401). */
  GK_INVALID_GRANT: createError('GK_INVALID_GRANT', 'Invalid grant', 401),
  /** The API version was sunset (410). */
  GK_VERSION_GONE: createError('GK_VERSION_GONE', 'API version %s is no longer available', 410),
  /** A unique value is taken (409). */
  GK_CONFLICT: createError('GK_CONFLICT', 'Conflict: %s', 409),
  /** The store cannot be reached; nobody is let in by accident (503). */
  GK_STORE_UNAVAILABLE: createError('GK_STORE_UNAVAILABLE', 'Authentication store unavailable', 503),
  /** The requested resource does not exist (404). */
  GK_NOT_FOUND: createError('GK_NOT_FOUND', 'Not found: %s', 404),
  /** An identity provider (its metadata, keys, token or introspection endpoint) could not be reached or answered with a server error; nobody is let in by accident (503). */
  GK_PROVIDER_UNAVAILABLE: createError('GK_PROVIDER_UNAVAILABLE', 'Identity provider unavailable', 503),
  /** A DPoP proof (RFC 9449) is missing where one is required, or fails a check of §4.3 (401, `WWW-Authenticate: DPoP … error="invalid_dpop_proof"`). */
  GK_DPOP_PROOF_INVALID: createError('GK_DPOP_PROOF_INVALID', 'Invalid DPoP proof', 401),
  /** The DPoP proof must carry the server nonce sent in the `DPoP-Nonce` header (401, RFC 9449 §9 `use_dpop_nonce`). */
  GK_DPOP_NONCE_REQUIRED: createError('GK_DPOP_NONCE_REQUIRED', 'DPoP nonce required', 401),
  /** A plugin option is wrong; thrown at registration, the message says what to change. */
  GK_CONFIG: createError('GK_CONFIG', 'Invalid gatekeeper configuration: %s', 500)
} as const

/** The `code` of every error in {@link errors}. */
export type GatekeeperErrorCode = keyof typeof errors

/** Throws a GK_CONFIG error; keeps option validation flat. */
export function configError (message: string): never {
  throw new errors.GK_CONFIG(message)
}

/** Whether `err` is the registry's error `code` (a typo in `code` is a compile error). */
export function hasCode (err: unknown, code: GatekeeperErrorCode): boolean {
  return isGatekeeperError(err) && err.code === code
}

/** True when `err` is one of ours. */
export function isGatekeeperError (err: unknown): err is Error & { code: GatekeeperErrorCode, statusCode: number } {
  const code = fieldOf(err, 'code')
  return typeof code === 'string' && code in errors
}
