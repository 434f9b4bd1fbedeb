// The audit events of the jwt plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A password login succeeded (details of the login, e.g. the refresh family, may be added). */
    'login.success': { userId: string }
    /** A login was refused: unknown user, wrong password, no password, disabled or unverified account (all give one answer). */
    'login.failure': { userId: string | null, cause?: 'unknown_user' | 'disabled' | 'no_password' | 'wrong_password' }
    /** A logout: one session, or every session of the user (`scope: 'all'`). */
    logout: { userId?: string, scope?: 'all', sessions?: number }
    'user.created': { userId: string, roles: readonly string[] }
    'user.roles_changed': { userId: string, from: readonly string[], to: readonly string[], sessionsRevoked: number }
    /** A password change (`outcome: 'failure'` when the current password was wrong) or reset (`method`). */
    'password.changed': { userId: string, sessionsRevoked?: number, method?: string }
    'user.disabled': { userId: string, sessionsRevoked: number }
  }
}
export {}
