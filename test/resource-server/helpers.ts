import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { resourceServer } from '../../lib/resource-server/plugin.js'
import type { ResourceServerOptions } from '../../lib/resource-server/options.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { RESOURCE } from './provider.js'

/** A clock tests move by hand. */
export function clock (start = Date.now()): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

/**
 * The core and the resourceServer plugin for `issuer` (resource {@link RESOURCE}),
 * with routes: `GET /me` (any caller of the strategy), `GET /tools` (scope
 * `tools:read`), `GET /posts` (permission `posts:read` or scope `posts:read`).
 */
export async function resourceApp (rs: Partial<ResourceServerOptions> & { issuers: ResourceServerOptions['issuers'] }, core: Partial<GatekeeperOptions> = {}, fastify: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastify)
  await app.register(gatekeeper, { store: memoryStore(), ...core })
  await app.register(resourceServer, { resource: RESOURCE, scopes: ['tools:read', 'tools:call', 'posts:read'], ...rs })
  app.get('/me', { config: { auth: 'resourceServer' } }, async (request) => request.auth)
  app.get('/tools', { config: { auth: { strategies: 'resourceServer', scopes: ['tools:read'] } } }, async () => ({ tools: [] }))
  app.get('/posts', { config: { auth: { strategies: 'resourceServer', anyOf: [{ permissions: ['posts:read'] }, { scopes: ['posts:read'] }] } } }, async () => ({ posts: [] }))
  return app
}

/** `Authorization: Bearer <token>`. */
export function bearer (token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}
