/**
 * Variant "full": the plugin stack of examples/full/server.ts, registered
 * with the same options, its posts routes and seed, on a SQLite file. Two
 * differences, both for measuring: the rate limit allows 1,000,000 requests
 * a minute (the demo's 300 would turn the run into 429s; the limiter still
 * counts every request), and the logger is at `warn` (the demo logs every
 * request at `info`, which would measure pino rather than the gatekeeper).
 * The measured route is protected like the demo's `GET /api/v2/posts`.
 * `full-redis` is the same stack with rate limits, brute-force counters and
 * the revocation bus in Redis, as docs/deployment.md configures it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import { gatekeeper, rbac, refresh, secureLogger, versioning, type GatekeeperOptions } from 'fastify-gatekeeper'
import { apiKey } from 'fastify-gatekeeper/api-key'
import { jwt } from 'fastify-gatekeeper/jwt'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { registerPosts } from '../../examples/full/posts.js'
import { seed } from '../../examples/full/seed.js'
import { announce, handler } from './server.js'

const PATH = '/api/v2/bench'

/** Starts the stack, with `redis` when given, and announces it. */
export async function startFull (redis?: GatekeeperOptions['redis']): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-full-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

  const app = Fastify({ logger: secureLogger({ level: 'warn' }) })
  await app.register(gatekeeper, {
    store: sqliteStore({ filename: path.join(dir, 'auth.db') }),
    strict: true,
    rateLimit: { max: 1_000_000, timeWindow: '1m' },
    bruteForce: {},
    ...(redis === undefined ? {} : { redis })
  })
  await app.register(jwt, { secret: 'demo-secret-change-me-0123456789abcdef', issuer: 'gatekeeper.demo', audience: 'demo-api' })
  await app.register(refresh, { ttl: '30d', transport: 'body' })
  await app.register(apiKey, { prefix: 'demo' })
  await app.register(rbac, {
    roles: {
      admin: { inherits: ['editor'], permissions: ['*'] },
      editor: { inherits: ['user'], permissions: ['posts:*'] },
      user: { permissions: ['posts:read', 'posts:create', 'posts:update:own', 'posts:delete:own'] }
    }
  })
  await app.register(versioning, {
    prefix: '/api',
    versions: {
      v1: { deprecated: '2026-06-01', sunset: '2027-06-01', successor: 'v2', auth: ['apiKey', 'jwt'] },
      v2: { auth: ['jwt', 'apiKey'] }
    }
  })
  app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
  app.get('/api/v2/me', { config: { auth: ['jwt', 'apiKey'] } }, async (request) => request.auth)
  await registerPosts(app)
  app.get(PATH, { config: { auth: { permissions: ['posts:read'] } } }, handler)
  await app.ready()

  const demo = await seed(app)
  const user = await app.gatekeeper.store.users.findByLogin('user')
  const { accessToken } = await app.gatekeeper.tokens!.issue(user!)
  await announce(app, {
    path: PATH,
    headers: { authorization: `Bearer ${accessToken}` },
    protected: true,
    extra: { apiKey: demo.apiKey, apiKeyHeader: 'x-api-key', apiKeyPrefix: 'demo', login: { path: '/api/login', body: { username: 'user', password: demo.password } } }
  })
}
