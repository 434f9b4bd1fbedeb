export { refresh, type OpenedSession, type RefreshApi, type RefreshOptions, type RefreshTransport } from './plugin.js'
export type { RefreshRoutes } from './options.js'
export type { SessionView } from './sessions.js'

/** The refresh plugin, as the default export: `app.register(import('fastify-gatekeeper/refresh'), options)`. */
export { refresh as default } from './plugin.js'
