import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Test } from 'tap'
import { apiKey } from '../../lib/api-key/plugin.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { capture } from '../protection/helpers.js'

export const PASSWORD = 'correct horse battery staple'
export const WRONG = 'wrong horse battery staple!'
export const SECRET = 'redis-test-secret-redis-test-secret'

/** One app instance: the core with `redis`, jwt, apiKey, `GET /whoami`; its log lines are kept. */
export interface Instance {
  app: FastifyInstance
  lines: string[]
}

/**
 * An instance over `store` sharing Redis through `client`. Routes:
 * `GET /whoami` (any strategy), `GET /unlimited` (any strategy, no rate limit).
 */
export async function instance (t: Test, store: GatekeeperStore, redis: GatekeeperOptions['redis'], core: Partial<GatekeeperOptions> = {}): Promise<Instance> {
  const { stream, lines } = capture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store, audit: { log: false }, ...(redis === undefined ? {} : { redis }), ...core })
  await app.register(jwt, { secret: SECRET, issuer: 'https://issuer.test', audience: 'api.test', cookie: false })
  await app.register(apiKey, { routes: false })
  app.get('/whoami', async (request) => ({ subject: request.auth?.subject ?? null }))
  app.get('/unlimited', { config: { rateLimit: false } }, async (request) => ({ subject: request.auth?.subject ?? null }))
  await app.ready()
  return { app, lines }
}

/** A memory store shared by several in-process instances (standing in for a shared database), with user `alice`. */
export async function sharedStore (): Promise<{ store: GatekeeperStore, aliceId: string }> {
  const store = memoryStore()
  const alice = await store.users.create({ username: 'alice', passwordHash: null, roles: ['user'], disabled: false })
  return { store, aliceId: alice.id }
}

/** POST /api/login. */
export function login (app: FastifyInstance, username: string, password: string, ip = '203.0.113.7') {
  return app.inject({ method: 'POST', url: '/api/login', payload: { username, password }, remoteAddress: ip })
}

/** GET `url` with an API key. */
export function withKey (app: FastifyInstance, key: string, url = '/whoami') {
  return app.inject({ method: 'GET', url, headers: { 'x-api-key': key } })
}

/** Sets alice's password through the jwt plugin of `app` (hashing it as the plugin does). */
export async function setPassword (app: FastifyInstance, store: GatekeeperStore, userId: string): Promise<void> {
  const passwordHash = await app.gatekeeper.passwords!.hash(PASSWORD)
  await store.users.update(userId, { passwordHash })
}

/** The client's connection state, for waits. */
export const ready = (client: Redis): boolean => client.status === 'ready'
