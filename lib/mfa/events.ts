// The audit events of the mfa plugin, added to the core's catalogue. No secret, code or challenge is ever a field.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A password was right and a second factor is due (`methods`: the factors the user can answer with). */
    'mfa.required': { userId: string, methods: string[] }
    /** A route asked for a stronger or fresher authentication: a step-up challenge was issued. */
    'mfa.step_up_required': { userId: string, methods: string[] }
    /** A second step was refused (`cause`: challenge, user, session, wrong_answer, enrolment_code). */
    'mfa.failure': { cause: string, factor: string, userId: string | null, attemptsLeft?: number | null }
    /** A second factor was answered. */
    'mfa.verified': { userId: string, factor: string }
    /** A step-up completed inside the session; `amr` is the session's new authentication. */
    'mfa.step_up': { userId: string, amr: string[] }
    /** A TOTP secret could not be opened (a key removed from `encryptionKeys` too early, or an altered row). */
    'mfa.unreadable': { userId: string, factorId: string }
    /** A recovery code was used; `remaining` are left. */
    'mfa.recovery_code_used': { userId: string, remaining: number }
    /** A TOTP enrolment began (unconfirmed until its first code). */
    'mfa.enrolment_started': { userId: string, factor: string, factorId: string }
    /** A TOTP factor was confirmed by its first code. */
    'mfa.enrolled': { userId: string, factor: string, factorId: string }
    /** A new set of recovery codes replaced the old one. */
    'mfa.recovery_codes_generated': { userId: string, count: number }
    /** A factor was removed by its user. */
    'mfa.disabled': { userId: string, factor: string }
    /** `users.resetFactors(id)`: every factor of the user removed (`removed`: how many, by factor). */
    'mfa.reset': { userId: string, removed: Record<string, number> }
  }
}
export {}
