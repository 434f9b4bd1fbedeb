import Fastify, { type FastifyInstance } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

export const PASSWORD = 'correct horse battery staple'
export const WRONG = 'wrong horse battery staple!'

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

export { capture } from '../helpers.js'

/** The core with a settable clock, and the jwt plugin (header transport only), with user `alice`. */
export async function loginApp (core: Partial<GatekeeperOptions> = {}, fastifyOpts: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, clock: Clock }> {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const app = Fastify(fastifyOpts)
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, ...core })
  await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'https://issuer.test', audience: 'api.test', cookie: false })
  await app.ready()
  await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  return { app, clock }
}

/** POST /api/login. */
export function login (app: FastifyInstance, username: string, password: string, extra: { ip?: string, headers?: Record<string, string> } = {}) {
  return app.inject({
    method: 'POST',
    url: '/api/login',
    payload: { username, password },
    ...(extra.ip === undefined ? {} : { remoteAddress: extra.ip }),
    ...(extra.headers === undefined ? {} : { headers: extra.headers })
  })
}
