// The audit events of the passkeys plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A passkey was registered. */
    'passkey.registered': { userId: string, credentialId: string, backedUp: boolean }
    /** A registration ceremony was refused (`cause`: why). */
    'passkey.registration_failure': { cause: string, userId: string | null | undefined }
    /** A passkey answer to a second step was refused (`cause`: why). */
    'passkey.refused': { cause: string, method: string, userId: string | null | undefined, credentialId: string | null | undefined }
    /** A passkey was renamed by its user. */
    'passkey.renamed': { userId: string, credentialId: string }
    /** Passkeys were removed: one by its user (`credentialId`), or all of a user's (`count`, `reason: 'reset'`). */
    'passkey.removed': { userId: string, credentialId?: string, count?: number }
  }
}
export {}
