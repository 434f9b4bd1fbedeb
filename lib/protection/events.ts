// The audit events of brute-force protection, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A login was refused because its account, its address or a block is locked. */
    'login.locked': {
      scope: 'account' | 'ip' | 'blocked'
      lockedFor: number
      login?: string | null
      loginFingerprint?: string
      userId?: string | null
      lockout?: number
      consecutiveFailures?: number
    }
  }
}
export {}
