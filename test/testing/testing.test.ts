import Fastify from 'fastify'
import t from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { assertAllRoutesProtected, createTestApiKey, createTestTokens } from '../../lib/testing/index.js'

async function build (checkUser = false) {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: 'test-secret-that-is-32-bytes-long!!', issuer: 'test', audience: 'test', checkUser })
  await app.register(apiKey, { prefix: 'tk', routes: false })
  app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
  app.get('/me', async (req) => req.auth)
  app.put('/things/:id', async () => 'ok')
  return app
}

t.test('createTestTokens signs a real token the jwt strategy accepts', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const { headers, accessToken, authorization } = await createTestTokens(app, { sub: 'u1', roles: ['editor'] })
  t.equal(authorization, `Bearer ${accessToken}`)
  const res = await app.inject({ url: '/me', headers })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { strategy: 'jwt', kind: 'user', subject: 'u1', roles: ['editor'] })
})

t.test('createTestTokens creates no user by default; with checkUser it creates a missing one, and the store\'s roles apply', async (t) => {
  const plain = await build()
  t.teardown(() => plain.close())
  await createTestTokens(plain, { sub: 'u1', roles: ['editor'] })
  t.equal(await plain.gatekeeper.store.users.findById('u1'), null, 'without checkUser the store is left alone')

  const app = await build(true)
  t.teardown(() => app.close())
  const created = await createTestTokens(app, { sub: 'u1', roles: ['editor'] })
  t.match(await app.gatekeeper.store.users.findById('u1'), { roles: ['editor'], passwordHash: null })
  t.match((await app.inject({ url: '/me', headers: created.headers })).json(), { subject: 'u1', roles: ['editor'] })
  await app.gatekeeper.store.users.create({ id: 'u2', username: 'u2', passwordHash: null, roles: ['viewer'] })
  const existing = await createTestTokens(app, { sub: 'u2', roles: ['admin'] })
  t.match((await app.inject({ url: '/me', headers: existing.headers })).json(), { subject: 'u2', roles: ['viewer'] }, 'checkUser gives the store\'s roles')
})

t.test('createTestApiKey creates the owner when needed and a working key', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const key = await createTestApiKey(app, { ownerId: 'svc-1', scopes: ['things:read'], roles: ['service'] })
  t.match(key.key, /^tk_/)
  const res = await app.inject({ url: '/me', headers: key.headers })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { strategy: 'apiKey', kind: 'application', subject: 'svc-1', keyId: key.keyId, scopes: ['things:read'] })
  // a second key for the same owner reuses the account
  const again = await createTestApiKey(app, { ownerId: 'svc-1', header: 'x-api-key' })
  t.equal((await app.inject({ url: '/me', headers: again.headers })).statusCode, 200)
})

t.test('the helpers say which plugin is missing', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await t.rejects(createTestTokens(app, { sub: 'x' }), /jwt plugin/)
  await t.rejects(createTestApiKey(app, { ownerId: 'x' }), /apiKey plugin/)
})

t.test('assertAllRoutesProtected passes when only allowed routes are public', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const routes = await assertAllRoutesProtected(app, { allowPublic: ['/health', '/api/login', '/api/logout'] })
  t.ok(routes.some((r) => r.url === '/things/:id'))
})

t.test('assertAllRoutesProtected names public and optional routes that are not allowed', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  app.get('/oops', { config: { auth: false } }, async () => 'open')
  app.get('/maybe', { config: { auth: { optional: true } } }, async () => 'maybe')
  await t.rejects(assertAllRoutesProtected(app, { allowPublic: ['GET /health', 'HEAD /health'], request: false }), {
    message: /GET \/oops is public[\s\S]*GET \/maybe lets anonymous callers in/
  })
})

t.test('assertAllRoutesProtected calls protected routes and reports one that answers without credentials', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  app.gatekeeper.registerStrategy({ name: 'leaky', scheme: 'Bearer', authenticate: () => ({ strategy: 'leaky', kind: 'user', subject: 'anyone', roles: [], permissions: [] }) })
  app.get('/leak', async () => 'data')
  await t.rejects(assertAllRoutesProtected(app), { message: /GET \/leak answered 200 without credentials/ })
})
