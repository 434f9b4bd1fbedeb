// The audit events of the versioning plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    /** A route of a version past its sunset was called (410). */
    'version.gone': { version: string, route: string }
    /** A deprecated version was called (at most once an hour per caller and version). */
    'version.deprecated_call': { version: string, route: string, deprecated: string, sunset: string | null, successor: string | null }
  }
}
export {}
