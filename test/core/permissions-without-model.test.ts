import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/index.js'
import { apiKey } from '../../lib/api-key/index.js'
import { jwt } from '../../lib/jwt/index.js'
import { rbac } from '../../lib/rbac/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long'

async function app (withRbac: boolean) {
  const a = Fastify()
  await a.register(gatekeeper, { store: memoryStore() })
  await a.register(jwt, { secret: SECRET, issuer: 'test', audience: 'api', routes: false })
  await a.register(apiKey)
  if (withRbac) await a.register(rbac, { roles: { editor: { permissions: ['posts:write'] } } })
  return a
}

// A route asking for a permission that only a permission model can grant
// started silently and answered 403 to everyone.
t.test('a route requiring permissions, no rbac, strategies whose permissions come from the model: refused at start', async (t) => {
  const a = await app(false)
  t.teardown(() => a.close())
  a.post('/posts', { config: { auth: { permissions: ['posts:write'] } } }, async () => ({ ok: true }))
  await t.rejects(async () => { await a.ready() }, {
    code: 'GK_CONFIG',
    message: /route POST \/posts requires permissions, and no permission model is registered: the jwt and apiKey strategies grant permissions only through one.*register the rbac plugin/
  })
})

t.test('the same through anyOf, when every alternative asks for a permission', async (t) => {
  const a = await app(false)
  t.teardown(() => a.close())
  a.get('/reports', { config: { auth: { strategies: ['jwt'], anyOf: [{ permissions: ['reports:read'] }, { roles: ['auditor'], permissions: ['reports:all'] }] } } }, async () => ({ ok: true }))
  await t.rejects(async () => { await a.ready() }, { code: 'GK_CONFIG', message: /route GET \/reports requires permissions.*the jwt strategy grants permissions only through one/ })
})

t.test('scopes, roles or an alternative without permissions need no model', async (t) => {
  const a = await app(false)
  t.teardown(() => a.close())
  a.get('/s', { config: { auth: { scopes: ['read'] } } }, async () => ({ ok: true }))
  a.get('/r', { config: { auth: { roles: ['admin'] } } }, async () => ({ ok: true }))
  a.get('/either', { config: { auth: { anyOf: [{ permissions: ['x:read'] }, { scopes: ['x:read'] }] } } }, async () => ({ ok: true }))
  a.get('/public', { config: { auth: false } }, async () => ({ ok: true }))
  await t.resolves(async () => { await a.ready() })
})

t.test('with the rbac plugin the route starts and its permission lets in', async (t) => {
  const a = await app(true)
  t.teardown(() => a.close())
  a.post('/posts', { config: { auth: { permissions: ['posts:write'] } } }, async () => ({ ok: true }))
  await a.ready()
  const editor = await a.gatekeeper.users.create({ username: 'ed', password: 'correct horse battery staple', roles: ['editor'] })
  const reader = await a.gatekeeper.users.create({ username: 'rd', password: 'correct horse battery staple', roles: [] })
  const yes = await a.inject({ method: 'POST', url: '/posts', headers: { authorization: `Bearer ${(await a.gatekeeper.tokens.issue(editor)).accessToken}` } })
  t.equal(yes.statusCode, 200)
  const no = await a.inject({ method: 'POST', url: '/posts', headers: { authorization: `Bearer ${(await a.gatekeeper.tokens.issue(reader)).accessToken}` } })
  t.match(no, { statusCode: 403 })
  t.equal(no.json().code, 'GK_FORBIDDEN')
})

t.test('a strategy whose credentials carry permissions of their own (an issuer\'s claim) needs no model', async (t) => {
  const a = Fastify()
  t.teardown(() => a.close())
  await a.register(gatekeeper, { store: memoryStore() })
  a.gatekeeper.registerStrategy({
    name: 'claims',
    scheme: 'Claims',
    authenticate: (request) => request.headers['x-claims'] === 'writer'
      ? { strategy: 'claims', subject: 'w', kind: 'user', roles: [], permissions: ['posts:write'] }
      : null
  })
  a.post('/posts', { config: { auth: { permissions: ['posts:write'] } } }, async () => ({ ok: true }))
  await a.ready()
  t.equal((await a.inject({ method: 'POST', url: '/posts', headers: { 'x-claims': 'writer' } })).statusCode, 200)
  t.equal((await a.inject({ method: 'POST', url: '/posts' })).statusCode, 401)
})
