/**
 * API keys for programs: checksummed keys, stored only as hashes, scoped to a
 * subset of their owner's permissions, rotatable without downtime.
 *
 *   npx tsx examples/api-keys.ts
 *
 * The server prints a demo key for the `reporter` account at start:
 *
 *   curl -s localhost:3000/api/reports -H "x-api-key: $KEY"            # 200
 *   curl -s -X POST localhost:3000/api/reports -H "x-api-key: $KEY"    # 403: not in the key's scopes
 *
 * People log in and manage their own keys (an API key cannot mint keys):
 *
 *   TOKEN=$(curl -s localhost:3000/api/login -H 'content-type: application/json' \
 *     -d '{"username":"reporter","password":"correct horse battery staple"}' | jq -r .accessToken)
 *   curl -s -X POST localhost:3000/api/keys -H "authorization: Bearer $TOKEN" \
 *     -H 'content-type: application/json' -d '{"name":"nightly job","scopes":["reports:read"],"expiresIn":"90d"}'
 *   curl -s localhost:3000/api/keys -H "authorization: Bearer $TOKEN"
 *   curl -s -X POST localhost:3000/api/keys/$ID/rotate -H "authorization: Bearer $TOKEN" \
 *     -H 'content-type: application/json' -d '{"overlap":"1h"}'
 *   curl -s -X DELETE localhost:3000/api/keys/$ID -H "authorization: Bearer $TOKEN"
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { apiKey, gatekeeper, jwt, rbac, secureLogger } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

// secureLogger() redacts x-api-key and Authorization from request logs.
const app = Fastify({ logger: secureLogger() })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  secret: process.env.JWT_SECRET ?? randomBytes(32),
  issuer: 'api-keys-example',
  audience: 'api'
})
await app.register(rbac, {
  roles: {
    admin: { permissions: ['*'] },
    reporter: { permissions: ['reports:read', 'reports:write'] }
  }
})
await app.register(apiKey, {
  prefix: 'demo',
  // Keep the pepper in a secret manager, apart from the database: a stolen
  // table of hashes is useless without it. A random one dies with the process.
  pepper: process.env.API_KEY_PEPPER ?? randomBytes(32),
  cache: { max: 10_000, ttl: '30s' },
  routes: { prefix: '/api/keys', permission: 'apikeys:manage' },
  anomaly: { ips: 20, window: '10m' }
})

app.gatekeeper.on('anomaly', (event) => { app.log.warn({ anomaly: event }, 'security anomaly') })

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

// Programs with a key, or people with a token: the first strategy that finds
// its credential decides, so a request carrying both is judged by its key.
app.get('/api/reports', { config: { auth: { strategies: ['apiKey', 'jwt'], permissions: ['reports:read'] } } },
  async (request) => ({ reports: ['daily', 'weekly'], caller: request.auth?.kind }))

app.post('/api/reports', { config: { auth: { strategies: ['apiKey'], permissions: ['reports:write'] } } },
  async (_request, reply) => reply.code(201).send({ queued: true }))

const reporter = await app.gatekeeper.users?.create({ username: 'reporter', password: 'correct horse battery staple', roles: ['reporter'] })
if (reporter === undefined) throw new Error('the jwt plugin provides app.gatekeeper.users')
// Scopes narrow the owner's permissions: this key may read reports, not write them.
const { key, record } = await app.gatekeeper.apiKeys.create({
  ownerId: reporter.id,
  name: 'demo reader',
  scopes: ['reports:read'],
  expiresIn: '30d'
})

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
// Shown once, to the terminal, for the demo: the store only has its hash and `${record.start}…`.
console.log(`demo API key (${record.name}, starts ${record.start}): ${key}`)
