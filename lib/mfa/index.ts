/**
 * `fastify-gatekeeper/mfa`: the `mfa` plugin (TOTP, recovery codes, the
 * two-step login, step-up), its service and the {@link SecondFactor}
 * extension point.
 */
import { mfa } from './plugin.js'

export { mfa, type MfaOptions } from './plugin.js'
export type { FactorStart, MfaApi, SecondFactor, StepUpConfig, TotpEnrolment, VerifyContext } from './types.js'
export type { EncryptionKey } from './seal.js'
export { MFA_ACR } from './options.js'
export type {
  ChallengeKind, ChallengeRecord, ChallengeRepository, CounterUpdate, MfaFactorKind, MfaFactorRecord, MfaFactorRepository,
  NewChallenge, NewMfaFactor, NewWebAuthnCredential, RecoveryCodeRepository, WebAuthnCredentialRecord, WebAuthnCredentialRepository
} from '../stores/types.js'
export default mfa
