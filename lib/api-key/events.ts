// The audit events of the apiKey plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    'apikey.created': { keyId: string, ownerId: string, name: string, start: string, scopes: readonly string[], expiresAt: Date | null }
    'apikey.revoked': { keyId: string }
    'apikey.rotated': { keyId: string, previousKeyId: string, ownerId: string, overlapUntil: Date }
    /** A revoked key was presented (a leaked key still in use). */
    'apikey.used_after_revoke': { keyId: string, ownerId: string }
  }
}
export {}
