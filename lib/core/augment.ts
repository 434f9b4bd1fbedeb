import type { onRequestHookHandler } from 'fastify'
import type { Gatekeeper, RouteEntry } from './gatekeeper.js'
import type { kRoute } from './symbols.js'
import type { AuthContext, RouteAuthConfig } from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The gatekeeper: store, strategies, route policies, audit and events. */
    gatekeeper: Gatekeeper
    /** A ready-made onRequest hook that authenticates with every registered strategy. */
    authenticate: onRequestHookHandler
  }
  interface FastifyRequest {
    /** Who is calling: set by authentication, `null` on public routes and for anonymous callers. */
    auth: AuthContext | null
    /** Whether the caller holds `permission` (an `:own` grant needs the resource's `ownerId`). */
    can (permission: string, ownerId?: string | null): boolean
  }
  interface FastifyContextConfig {
    /** This route's protection; see RouteAuthConfig. Without it the core's `defaultAuth` applies. */
    auth?: RouteAuthConfig
    /** The core's record of the route (set by its onRoute hook). */
    [kRoute]?: RouteEntry
  }
}

export {}
