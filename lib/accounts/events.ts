// The audit events of the accounts plugin, added to the core's catalogue.

/** The events of the accounts flows (one per flow; `outcome` tells success from refusal). */
export type AccountEventType = 'password.reset_requested' | 'password.reset' | 'email.verification_requested' | 'email.verified' | 'email.change_requested' | 'email.changed' | 'email.reverted'

declare module '../core/events.js' {
  interface AuditEvents {
    'password.reset_requested': { userId?: string | null, cause?: string, scope?: 'address' }
    'password.reset': { userId?: string | null, cause?: string, emailVerified?: boolean }
    'email.verification_requested': { userId?: string | null, cause?: string, scope?: 'address' }
    'email.verified': { userId?: string | null, cause?: string }
    'email.change_requested': { userId?: string | null, cause?: string, scope?: 'address' }
    'email.changed': { userId?: string | null, cause?: string, usernameChanged?: boolean }
    'email.reverted': { userId?: string | null, cause?: string, sessionsRevoked?: number }
    /** A mail could not be handed to `send()`. */
    'account.mail_failed': { kind: string, userId: string }
  }
}
