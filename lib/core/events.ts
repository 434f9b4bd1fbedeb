/**
 * The audit event catalogue: event name → its own fields (besides those every
 * event has, {@link AuditEventBase}). The core declares its events here; each
 * plugin adds its own by declaration merging (`declare module` on this
 * module), so the core names no feature and `app.gatekeeper.on('login.failure',
 * (e) => e.cause)` is typed, and a misspelt event a compile error.
 */
export interface AuditEvents {
  /** A caller was refused a route (403): missing roles, permissions, scopes, kind or ownership. */
  'access.denied': {
    route: string
    missingRoles?: readonly string[]
    missingPermission?: string
    missingPermissions?: readonly string[]
    missingScopes?: readonly string[]
    requiredKind?: 'user' | 'application'
    keyId?: string | null
  }
}

/** Every audit event's name. */
export type AuditEventType = keyof AuditEvents

/** The fields every audit event has. */
export interface AuditEventBase {
  time: Date
  outcome: 'success' | 'failure' | 'info'
  subject?: string | null
  ip?: string | null
  userAgent?: string | null
  requestId?: string | null
  /** A stable reason code (for example the `GK_` code of a refusal). */
  reason?: string | null
  /** The issuer and client of a token from another authorization server. */
  issuer?: string
  clientId?: string
  /** Event-specific, non-secret details beyond the catalogue. */
  [detail: string]: unknown
}

/** One audit event: `type` names it, and narrows the rest of its fields. */
export type AuditEvent<K extends AuditEventType = AuditEventType> = {
  [T in K]: AuditEventBase & { type: T } & AuditEvents[T]
}[K]

/** An anomaly (`app.gatekeeper.on('anomaly', fn)`): credential stuffing, refresh-token reuse, a key used from many addresses. */
export interface Anomaly {
  /** `credential_stuffing`, `refresh_reuse`, `apikey.many_ips`, …; the other fields depend on it. */
  type: string
  [detail: string]: unknown
}

/** What `on()` delivers for each event name: an audit event type, `'audit'` (every audit event) or `'anomaly'`. */
export type GatekeeperEventMap = { [K in AuditEventType]: AuditEvent<K> } & { audit: AuditEvent, anomaly: Anomaly }
