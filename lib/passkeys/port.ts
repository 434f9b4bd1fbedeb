import type { ChallengeRepository, NewWebAuthnCredential, WebAuthnCredentialRecord, WebAuthnCredentialRepository } from '../stores/types.js'

/** A registered passkey: the store's WebAuthn credential. */
export type PasskeyRecord = WebAuthnCredentialRecord

/** A passkey to store. */
export type NewPasskey = NewWebAuthnCredential

/** What the passkey ceremonies need from the store: its WebAuthn credentials and single-use challenges. */
export interface PasskeyPort {
  credentials: WebAuthnCredentialRepository
  challenges: ChallengeRepository
}
