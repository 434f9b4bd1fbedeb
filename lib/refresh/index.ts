export { refresh, type OpenedSession, type RefreshApi, type RefreshOptions, type RefreshTransport } from './plugin.js'
export { TRANSPORTS, type RefreshRoutes } from './options.js'
export { REFRESH_COOKIE, SESSION_COOKIE } from './cookies.js'
export { TOKEN_LENGTH, isTokenFormat, hashToken } from './token.js'
export type { SessionView } from './sessions.js'

/** The refresh plugin, as the default export: `app.register(import('fastify-gatekeeper/refresh'), options)`. */
export { refresh as default } from './plugin.js'
