// The store contract of the mfa plugin's WebAuthn credentials and challenges, as the passkeys plugin uses it.
// Mirrors lib/stores/types.ts (webauthnCredentials, challenges).

/** A registered passkey (a WebAuthn public-key credential). */
export interface PasskeyRecord {
  id: string
  userId: string
  publicKey: string
  counter: number
  transports: string[]
  backupEligible: boolean
  backedUp: boolean
  name: string
  createdAt: Date
  lastUsedAt: Date | null
}

/** A passkey to store. */
export interface NewPasskey {
  id: string
  userId: string
  publicKey: string
  counter: number
  transports?: string[]
  backupEligible: boolean
  backedUp: boolean
  name: string
}

/** A ceremony challenge as stored: the handle's hash, never the handle. */
export interface PasskeyChallenge {
  hash: string
  kind: string
  userId: string | null
  data: Record<string, unknown>
  expiresAt: Date
}

/** What the passkey ceremonies need from the store. */
export interface PasskeyPort {
  credentials: {
    create (passkey: NewPasskey): Promise<PasskeyRecord>
    findById (id: string): Promise<PasskeyRecord | null>
    listByUser (userId: string): Promise<PasskeyRecord[]>
    updateCounter (id: string, counter: number, at: Date, backedUp: boolean): Promise<'ok' | 'regressed' | 'unknown'>
    rename (id: string, userId: string, name: string): Promise<boolean>
    delete (id: string, userId: string): Promise<boolean>
  }
  challenges: {
    create (challenge: { hash: string, kind: 'webauthn_registration' | 'webauthn_authentication', userId?: string | null, data?: Record<string, unknown>, expiresAt: Date }): Promise<unknown>
    consume (hash: string, kind: 'webauthn_registration' | 'webauthn_authentication', now: Date): Promise<PasskeyChallenge | null>
  }
}
