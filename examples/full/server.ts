/**
 * The demo server of `npm start`: every plugin on the embedded SQLite store in
 * ./data/, seeded with three users and an API key, v1 deprecated and v2 current.
 * A frontend team can develop against it before the real backend exists.
 */
import { mkdirSync } from 'node:fs'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify from 'fastify'
import { apiKey, gatekeeper, gatekeeperOpenApi, jwt, rbac, refresh, secureLogger, versioning } from 'fastify-gatekeeper'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { registerPosts } from './posts.js'
import { seed } from './seed.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
const dataDir = process.env.DATA_DIR ?? 'data'
mkdirSync(dataDir, { recursive: true })

const app = Fastify({ logger: secureLogger({ level: process.env.LOG_LEVEL ?? 'info' }) })

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
  // Demo only: set JWT_SECRET (32+ bytes) in any real deployment.
  secret: process.env.JWT_SECRET ?? 'demo-secret-change-me-0123456789abcdef',
  issuer: 'gatekeeper.demo',
  audience: 'demo-api'
})
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

await app.listen({ port, host })
const demo = await seed(app)
const base = `http://${host}:${port}`
process.stdout.write(`
fastify-gatekeeper demo on ${base}  (SQLite: ${dataDir}/auth.db)

Demo users (password for all: ${demo.password})
  admin  (admin)   editor (editor)   user (user)
Demo API key of "user" (scopes posts:read), shown once:
  ${demo.apiKey}

API documentation (Swagger UI): ${base}/docs

Try:
  curl ${base}/health
  curl -i ${base}/api/v2/posts
  TOKEN=$(curl -s -X POST ${base}/api/login -H 'content-type: application/json' \\
    -d '{"username":"user","password":"${demo.password}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')
  curl ${base}/api/v2/posts -H "authorization: Bearer $TOKEN"
  curl -X POST ${base}/api/v2/posts -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"title":"hello"}'
  curl ${base}/api/v2/posts -H 'x-api-key: ${demo.apiKey}'
  curl -i ${base}/api/v1/posts -H 'x-api-key: ${demo.apiKey}'    # deprecated: see Deprecation, Sunset, Link
`)
