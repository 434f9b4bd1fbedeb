/**
 * URI versions with deprecation: v1 is deprecated (since 2026-06-01) and
 * sunsets on 2027-06-01, v2 is current. v1 accepts API keys and tokens,
 * v2 only tokens.
 *
 *   npx tsx examples/versioning.ts
 *
 * The server prints a demo API key and token; then:
 *
 *   curl -i localhost:3000/api/v1/posts -H "x-api-key: $KEY"          # 200 + Deprecation, Sunset, Link
 *   curl -i localhost:3000/api/v2/posts -H "x-api-key: $KEY"          # 401: v2 takes tokens only
 *   curl -i localhost:3000/api/v2/posts -H "authorization: Bearer $TOKEN"
 *   curl -i localhost:3000/api/v9/posts                               # 404 naming v1, v2
 *
 * From 2027-06-01 on, every v1 request answers 410 GK_VERSION_GONE.
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper, jwt, secureLogger, versioning, type AuditEvent } from 'fastify-gatekeeper'
import { apiKey } from 'fastify-gatekeeper/api-key'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify({ logger: secureLogger() })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  // A random secret means tokens die with the process; set JWT_SECRET to keep them.
  secret: process.env.JWT_SECRET ?? randomBytes(32),
  issuer: 'versioning-example',
  audience: 'api'
})
await app.register(apiKey, { prefix: 'demo' })

await app.register(versioning, {
  prefix: '/api',
  versions: {
    v1: {
      deprecated: '2026-06-01',
      sunset: '2027-06-01',
      successor: 'v2',
      deprecationLink: 'https://example.com/changelog/v1-deprecation',
      auth: ['apiKey', 'jwt']
    },
    v2: { auth: ['jwt'] }
  }
})

// Who still calls v1? At most one event per caller and hour.
app.gatekeeper.on('version.deprecated_call', (event: AuditEvent) => {
  app.log.warn({ subject: event.subject, ip: event.ip, route: event.route }, 'deprecated API version called')
})

const posts = [{ id: '1', title: 'Hello', body: 'First post' }]

// v1 keeps its old response shape: a bare array of titles.
await app.gatekeeper.version('v1', async (v1) => {
  v1.get('/posts', async () => posts.map((p) => p.title))
})

// v2 answers with objects. Plain `app.get('/api/v2/…')` would belong to v2 just as well.
await app.gatekeeper.version('v2', async (v2) => {
  v2.get('/posts', async () => ({ items: posts }))
  // A route's own config.auth wins over the version's default.
  v2.get('/posts/:id', { config: { auth: ['jwt', 'apiKey'] } }, async (request) =>
    posts.find((p) => p.id === (request.params as { id: string }).id) ?? null)
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

const port = Number(process.env.PORT ?? 3000)
await app.listen({ port, host: '127.0.0.1' })

// Demo credentials, made once at start-up and shown once.
const users = app.gatekeeper.users
const keys = app.gatekeeper.apiKeys
const tokens = app.gatekeeper.tokens
if (users !== undefined && keys !== undefined && tokens !== undefined) {
  const user = await users.create({ username: 'demo', password: randomBytes(16).toString('base64url'), roles: ['user'] })
  const { key } = await keys.create({ ownerId: user.id, name: 'demo key' })
  const record = await app.gatekeeper.store.users.findById(user.id)
  const token = record === null ? null : await tokens.issue(record)
  process.stdout.write(`\nKEY=${key}\nTOKEN=${token?.accessToken ?? ''}\n\n`)
}
