import type { FastifyInstance } from 'fastify'
import { configError } from './errors.js'

/** The plugins others depend on: their fastify-plugin name → the name users register. */
const PUBLIC_NAMES = { gatekeeper: 'gatekeeper', 'gatekeeper-jwt': 'jwt' } as const

/**
 * Refuses a plugin registered before one it needs, with the names users
 * write (fastify-plugin's own check says "The dependency 'gatekeeper-jwt' of
 * plugin 'gatekeeper-refresh' is not registered"): `GK_CONFIG` "register the
 * jwt plugin before refresh".
 */
export function requirePlugins (app: FastifyInstance, plugin: string, needs: ReadonlyArray<keyof typeof PUBLIC_NAMES>): void {
  for (const name of needs) {
    if (!app.hasPlugin(name)) {
      configError(`register the ${PUBLIC_NAMES[name]} plugin before ${plugin}: \`await app.register(${PUBLIC_NAMES[name]}, …)\` comes first`)
    }
  }
}
