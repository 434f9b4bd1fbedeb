/**
 * The demo server of `npm start`: every plugin on the embedded SQLite store in
 * ./data/, seeded with three users and an API key, v1 deprecated and v2 current.
 * A frontend team can develop against it before the real backend exists.
 * Listens on 127.0.0.1 unless HOST is set; signs access tokens with JWT_SECRET,
 * or without it with a random secret made for each start.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify from 'fastify'
import { apiKey, gatekeeper, gatekeeperOpenApi, jwt, rbac, refresh, secureLogger, versioning } from 'fastify-gatekeeper'
import { accounts } from 'fastify-gatekeeper/accounts'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { printMail } from './outbox.js'
import { registerPasskeyDemo } from './passkeys.js'
import { registerPosts } from './posts.js'
import { seed } from './seed.js'

const port = Number(process.env.PORT ?? 3000)
// Loopback unless HOST says otherwise: a demo is not meant to be reachable from the network.
const host = process.env.HOST ?? '127.0.0.1'
// Without JWT_SECRET, a random secret made for this start: a secret written here would let anyone mint tokens.
const ephemeral = process.env.JWT_SECRET === undefined || process.env.JWT_SECRET === ''
const secret = ephemeral ? randomBytes(32).toString('base64url') : process.env.JWT_SECRET as string
const dataDir = process.env.DATA_DIR ?? 'data'
mkdirSync(dataDir, { recursive: true })

const app = Fastify({
  logger: secureLogger({ level: process.env.LOG_LEVEL ?? 'info' }),
  // Idle and slow clients cannot hold connections (docs/deployment.md, "Slow and idle clients"):
  // headers within 5 s, the whole request within 15 s, an idle keep-alive connection closed
  // after 5 s, a silent connection after 15 s, a fresh connection every 1,000 requests.
  connectionTimeout: 15_000,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
  maxRequestsPerSocket: 1_000,
  http: { headersTimeout: 5_000, connectionsCheckingInterval: 1_000 }
})

await app.register(gatekeeper, {
  store: sqliteStore({ filename: `${dataDir}/auth.db` }),
  strict: true,
  rateLimit: { max: 300, timeWindow: '1m' },
  bruteForce: {}
})
// OpenAPI: security schemes and per-route security come from config.auth.
await app.register(swagger, gatekeeperOpenApi(app, { openapi: { info: { title: 'fastify-gatekeeper demo', version: '2.0.0' } } }))
// The documentation UI is public; its routes come from a third-party plugin.
app.gatekeeper.publicPrefix('/docs')
await app.register(swaggerUi, { routePrefix: '/docs' })
await app.register(jwt, {
  secret,
  issuer: 'gatekeeper.demo',
  audience: 'demo-api'
})
await app.register(refresh, { ttl: '30d', transport: 'body' })
// Password reset, email verification and change; the demo prints its mails instead of sending them.
await app.register(accounts, { send: printMail, origin: process.env.APP_URL ?? `http://localhost:${port}` })
// Passkeys: a page at /passkeys registers one and signs in with it (open it on http://localhost).
await registerPasskeyDemo(app, process.env.APP_URL ?? `http://localhost:${port}`)
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

await app.listen({ port, host })
const demo = await seed(app)
const base = `http://${host}:${port}`
process.stdout.write(`
fastify-gatekeeper demo on ${base}  (SQLite: ${dataDir}/auth.db)
${ephemeral
  ? 'Access tokens are signed with a random secret made for this start (ephemeral: they stop working when\nthe server restarts; refresh tokens keep working). Set JWT_SECRET (32+ bytes) to keep one secret.\n'
  : 'Access tokens are signed with JWT_SECRET.\n'}
Demo users (password for all: ${demo.password})
  admin  (admin)   editor (editor)   user (user)
Demo API key of "user" (scopes posts:read), shown once:
  ${demo.apiKey}

API documentation (Swagger UI): ${base}/docs
Passkeys (register one, then sign in without a password): http://localhost:${port}/passkeys

Try:
  curl ${base}/health
  curl -i ${base}/api/v2/posts
  TOKEN=$(curl -s -X POST ${base}/api/login -H 'content-type: application/json' \\
    -d '{"username":"user","password":"${demo.password}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')
  curl ${base}/api/v2/posts -H "authorization: Bearer $TOKEN"
  curl -X POST ${base}/api/v2/posts -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"title":"hello"}'
  curl ${base}/api/v2/posts -H 'x-api-key: ${demo.apiKey}'
  curl -i ${base}/api/v1/posts -H 'x-api-key: ${demo.apiKey}'    # deprecated: see Deprecation, Sunset, Link

Forgotten password (the mail appears below, in the outbox):
  curl -i ${base}/api/password/forgot -H 'content-type: application/json' -d '{"email":"user@demo.example"}'
  curl -i ${base}/api/password/reset -H 'content-type: application/json' -d '{"token":"<token>","newPassword":"a new demo passphrase"}'
`)
