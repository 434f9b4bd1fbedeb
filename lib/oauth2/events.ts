// The audit events of the oauth2 plugin, added to the core's catalogue.
declare module '../core/events.js' {
  interface AuditEvents {
    'oauth.client_auth_failed': { clientId?: string | null }
    'oauth.token_issued': { clientId: string, scopes: readonly string[] }
    'oauth.client_created': { clientId: string, scopes: readonly string[] }
    'oauth.client_rotated': { clientId: string, overlapMs: number }
    'oauth.client_revoked': { clientId: string }
    'oauth.link_started': { userId: string, provider: string }
    'oauth.login_failed': { provider: string }
    'oauth.identity_unlinked': { userId: string, provider: string }
    'oauth.link_refused': { userId: string | null, provider: string }
    'oauth.identity_linked': { userId: string, provider: string }
  }
}
export {}
