import type { FastifyRequest } from 'fastify'
import type { Duration } from '../core/duration.js'
import type { PublicUser } from '../jwt/types.js'
import type { ChallengeRecord } from '../stores/types.js'
import type { EncryptionKey } from './seal.js'

/** Options of the `mfa` plugin. */
export interface MfaOptions {
  /**
   * Keys sealing TOTP secrets at rest (AES-256-GCM). The first seals; all
   * open what they sealed. To rotate, put a new key first and keep the old
   * ones until every secret they sealed is gone (see docs/mfa.md).
   */
  encryptionKeys: readonly EncryptionKey[]
  /** The name authenticator apps show next to the account (default: the jwt plugin's `issuer`). */
  issuer?: string
  /** How long the second step of a login may wait (default `'5m'`, from `'30s'` to `'15m'`). */
  challengeTtl?: Duration
  /** Wrong answers one challenge takes before it is spent (default 5, from 1 to 10); each also counts toward the account's lockout. */
  maxAttempts?: number
  /** Time steps of clock drift accepted either side of now (default 1, at most 2). */
  totpWindow?: number
  /**
   * How recent the login (the token's `auth_time`) must be to remove a
   * factor or make new recovery codes (default `'10m'`, from `'1m'` to `'1h'`).
   */
  recentAuth?: Duration
  /** The `acr_values` named in a step-up challenge for a route that needs a second factor. */
  acr?: string
  /**
   * Paths (default `{ prefix: '/api', loginMfa: '/login/mfa', stepUp: '/login/step-up', factors: '/mfa' }`);
   * `false` registers no route (use `app.gatekeeper.mfa`).
   */
  routes?: { prefix?: string, loginMfa?: string, stepUp?: string, factors?: string } | false
}

/** Per-route step-up requirement: `config.stepUp`. */
export interface StepUpConfig {
  /** The access token must come from a login with a second factor (`amr` holds `mfa`). */
  mfa?: boolean
  /** The user must have authenticated at most this long ago (the token's `auth_time`). */
  maxAge?: Duration
}

/** What {@link SecondFactor.verify} is given besides the answer. */
export interface VerifyContext {
  /** The pending challenge (its `data[factor.name]` holds what `begin` kept). */
  challenge: ChallengeRecord
  request: FastifyRequest
  /** Milliseconds since the epoch (the core's clock). */
  now: number
}

/** What {@link SecondFactor.begin} adds to a pending login. */
export interface FactorStart {
  /** Fields added to the `mfa_required` answer (WebAuthn request options). */
  response?: Record<string, unknown>
  /** Kept in the challenge under the factor's name, for `verify`. Never a secret of the user's. */
  data?: Record<string, unknown>
}

/**
 * A kind of second factor: the extension point of the `mfa` plugin. The
 * plugin brings `totp` and `recovery`; the passkeys part adds `webauthn`
 * with `app.gatekeeper.mfa.addFactor(factor)`.
 *
 * The plugin drives every factor the same way:
 * 1. After a right password, `enrolled(userId)` of every factor decides
 *    whether a second step is needed (any `primary` factor enrolled) and
 *    which `methods` the `mfa_required` answer lists; `begin` of each
 *    enrolled factor may add to the answer and keep data in the challenge.
 * 2. `POST /api/login/mfa { challenge, <field>: answer }` — exactly one
 *    factor's `field` present — finds the live challenge, runs the login
 *    guards' admission (brute-force lockout), then `verify`. A `null`
 *    result counts as a failure (guards, challenge attempts, `mfa.failure`);
 *    a result completes the login with `amr` = `pwd` + its `amr` + `mfa`
 *    through the jwt plugin's `completeLogin`.
 * 3. `users.resetFactors(id)` calls every factor's `reset`.
 *
 * `verify` must be exactly-once for replayable answers (TOTP steps,
 * recovery codes, WebAuthn counters and challenges) by the store's atomic
 * operations, must compare secrets in constant time, and must never log
 * the answer. A malformed answer may throw `GK_INVALID_REQUEST`.
 */
export interface SecondFactor {
  /** The factor's name in `methods`, audit events and `challenge.data` (`'totp'`, `'recovery'`, `'webauthn'`). */
  readonly name: string
  /** The body field of `POST /api/login/mfa` carrying its answer (`'code'`, `'recoveryCode'`, `'webauthn'`). */
  readonly field: string
  /** The JSON type of its answer (default `'string'`); any other type is a 400. */
  readonly answer?: 'string' | 'object'
  /** Whether having it makes a second step required. Recovery codes are not: they only stand in for a primary factor. */
  readonly primary: boolean
  /** Whether the user has this factor, ready to use. */
  enrolled (userId: string): Promise<boolean>
  /** Called when a login or step-up becomes pending for a user who has the factor. */
  begin? (user: PublicUser, request: FastifyRequest): Promise<FactorStart | null>
  /** Checks an answer: the RFC 8176 `amr` values it proves, or `null` when it is wrong. */
  verify (user: PublicUser, answer: unknown, context: VerifyContext): Promise<{ amr: string[] } | null>
  /** Describes the user's factor for `GET /api/mfa` (never a secret). */
  describe? (userId: string): Promise<unknown>
  /** Removes the factor from the user (`users.resetFactors`); returns how many records went. */
  reset? (userId: string): Promise<number>
}

/** The result of starting a TOTP enrolment: shown once, never stored in the clear. */
export interface TotpEnrolment {
  /** The pending factor's id. */
  id: string
  /** `otpauth://totp/...`: the secret, for the authenticator app. */
  uri: string
  /** The same URI as a QR code, `data:image/png;base64,…`. */
  qrCode: string
}

/** `app.gatekeeper.mfa`: the `mfa` plugin's service. */
export interface MfaApi {
  /** Adds a kind of second factor (see {@link SecondFactor}); before the app is ready. */
  addFactor (factor: SecondFactor): void
  /** The names of the user's enrolled factors (primary and recovery), in registration order. */
  enrolledFactors (userId: string): Promise<string[]>
  /** Starts a TOTP enrolment (replacing an unconfirmed one); `GK_CONFLICT` when a confirmed one exists. */
  enrolTotp (userId: string, request?: FastifyRequest): Promise<TotpEnrolment>
  /**
   * Confirms the pending TOTP factor with its first code; resolves the new
   * recovery codes when the user had none (shown once), `[]` otherwise, or
   * `null` when the code is wrong.
   */
  confirmTotp (userId: string, code: string, request?: FastifyRequest): Promise<string[] | null>
  /** Removes the user's TOTP factor (and the recovery codes when no primary factor is left); `false` when there was none. */
  disableTotp (userId: string, request?: FastifyRequest): Promise<boolean>
  /** Replaces the user's recovery codes with 10 new ones, returned once. */
  regenerateRecoveryCodes (userId: string, request?: FastifyRequest): Promise<string[]>
  /** Removes every second factor and recovery code of the user (`users.resetFactors` calls it). */
  resetFactors (userId: string, request?: FastifyRequest): Promise<void>
}
