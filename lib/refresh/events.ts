// The audit events of the refresh plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A rotated refresh token was presented again: its family is revoked. */
    'refresh.reuse_detected': { userId: string, familyId: string }
    /** A refresh token was rotated (`replay`: presented again inside `reuseGrace`). */
    'token.refreshed': { userId: string, familyId: string, replay: boolean }
    /** A session (refresh family) was revoked from the sessions list or by logout. */
    'session.revoked': { userId: string, familyId: string }
    /** The refresh token of a DPoP-bound session came without a proof by its key (RFC 9449 §5): the session is ended. */
    'refresh.dpop_mismatch': { userId: string, familyId: string, withProof: boolean }
  }
}
export {}
