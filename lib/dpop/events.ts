// The audit events of the dpop plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A DPoP proof (or a bound token's use) was refused; `cause` names the check that failed. The proof is never recorded. */
    'dpop.proof_refused': { cause: string }
  }
}
export {}
