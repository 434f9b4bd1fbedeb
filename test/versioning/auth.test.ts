import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { API_KEY, BEARER, build } from './helpers.js'

async function routes (app: FastifyInstance): Promise<void> {
  app.get('/posts', async (request) => ({ version: request.apiVersion, subject: request.auth?.subject }))
  app.get('/keys-only', { config: { auth: 'apiKey' } }, async () => 'keys')
  app.get('/open', { config: { auth: false } }, async () => 'open')
}

t.test('each version sets the default strategies of its routes; a route\'s own config.auth wins', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  await app.gatekeeper.version('v1', routes)
  await app.gatekeeper.version('v2', routes)
  await app.ready()
  const rows: Array<[string, Record<string, string>, number, string | undefined]> = [
    ['/api/v1/posts', API_KEY, 200, undefined],
    ['/api/v1/posts', BEARER, 200, undefined],
    ['/api/v1/posts', {}, 401, 'GK_UNAUTHORIZED'],
    ['/api/v2/posts', BEARER, 200, undefined],
    ['/api/v2/posts', API_KEY, 401, 'GK_UNAUTHORIZED'],
    ['/api/v2/keys-only', API_KEY, 200, undefined],
    ['/api/v2/keys-only', BEARER, 401, 'GK_UNAUTHORIZED'],
    ['/api/v2/open', {}, 200, undefined],
    ['/api/v1/open', {}, 200, undefined]
  ]
  for (const [url, headers, status, code] of rows) {
    const res = await app.inject({ url, headers })
    t.equal(res.statusCode, status, `${url} with ${Object.keys(headers).join() || 'nothing'}`)
    if (code !== undefined) t.equal(res.json().code, code)
  }
  t.equal((await app.inject('/api/v1/posts')).headers['www-authenticate'], 'ApiKey realm="api", Bearer realm="api"', 'v1 offers both schemes')
  t.equal((await app.inject('/api/v2/posts')).headers['www-authenticate'], 'Bearer realm="api"', 'v2 offers only Bearer')
  const listed = app.gatekeeper.routes().filter((r) => r.method === 'GET' && r.url.endsWith('/posts'))
  t.same(listed.map((r) => [r.url, r.strategies]), [['/api/v1/posts', ['apiKey', 'jwt']], ['/api/v2/posts', ['jwt']]])
})

t.test('routes belong to their version however they were registered', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  app.get('/api/v1/plain', async (request) => ({ version: request.apiVersion }))
  await app.register(async (child) => {
    child.get('/nested', async (request) => ({ version: request.apiVersion }))
  }, { prefix: '/api/v1' })
  await app.gatekeeper.version('v1', routes)
  await app.gatekeeper.version('v1', async (admin) => {
    admin.get('/stats', async (request) => ({ version: request.apiVersion }))
  }, { prefix: '/admin/' })
  app.get('/health', { config: { auth: false } }, async (request) => ({ version: request.apiVersion }))
  await app.ready()
  for (const url of ['/api/v1/plain', '/api/v1/nested', '/api/v1/posts', '/api/v1/admin/stats']) {
    const res = await app.inject({ url, headers: API_KEY })
    t.equal(res.statusCode, 200, `${url} takes the v1 API key default`)
    t.equal(res.json().version, 'v1', url)
    t.equal(res.headers.deprecation, '@1780272000', url)
  }
  t.same((await app.inject('/health')).json(), { version: null }, 'outside versions request.apiVersion is null')
})

t.test('routes added before the versioning plugin, even before the core, belong to their version', async (t) => {
  const { app } = await build({
    versioning: false,
    before (early) { early.get('/api/v1/early', async () => 'early') }
  })
  t.teardown(() => app.close())
  app.get('/api/v1/middle', async () => 'middle')
  const { versioning } = await import('../../lib/versioning/plugin.js')
  await app.register(versioning, { versions: { v1: { deprecated: '2026-06-01', auth: 'apiKey' } } })
  await app.ready()
  for (const url of ['/api/v1/early', '/api/v1/middle']) {
    t.equal((await app.inject({ url, headers: BEARER })).statusCode, 401, `${url}: the version's default (apiKey only) applies`)
    const res = await app.inject({ url, headers: API_KEY })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers.deprecation, '@1780272000', url)
  }
})

t.test('a version without auth keeps the core default; auth: public opens a version', async (t) => {
  const { app } = await build({ versioning: { versions: { v1: { auth: 'public' }, v2: {} } } })
  t.teardown(() => app.close())
  app.get('/api/v1/x', async () => 'x')
  app.get('/api/v2/x', async () => 'x')
  await app.ready()
  t.equal((await app.inject('/api/v1/x')).statusCode, 200)
  t.equal((await app.inject('/api/v2/x')).statusCode, 401)
  t.equal((await app.inject({ url: '/api/v2/x', headers: API_KEY })).statusCode, 200, 'any registered strategy')
})

t.test('a version naming an unregistered strategy stops the app from starting', async (t) => {
  const { app } = await build({ versioning: { versions: { v1: { auth: ['oauth2'] } } } })
  t.teardown(() => app.close())
  app.get('/api/v1/x', async () => 'x')
  await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /strategy 'oauth2', which is not registered/ })
})

t.test('version() refuses an undeclared version and a prefix that is not a path', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  t.throws(() => app.gatekeeper.version('v3', routes), { code: 'GK_CONFIG', message: /version\('v3'\): not a declared version \(declared: v1, v2\)/ })
  for (const prefix of ['admin', '/a?b', 42]) {
    t.throws(() => app.gatekeeper.version('v1', routes, { prefix }), { code: 'GK_CONFIG', message: /opts\.prefix must be a path/ }, String(prefix))
  }
})

t.test('version() accepts route parameters below the version', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  await app.gatekeeper.version('v2', async (v2) => {
    v2.get('/posts', async (request) => ({ user: (request.params as { user: string }).user, version: request.apiVersion }))
  }, { prefix: '/users/:user/' })
  await app.gatekeeper.version('v2', async (v2) => { v2.get('/root', async () => 'root') }, { prefix: '/' })
  await app.ready()
  t.same((await app.inject({ url: '/api/v2/users/ann/posts', headers: BEARER })).json(), { user: 'ann', version: 'v2' })
  t.equal((await app.inject({ url: '/api/v2/root', headers: BEARER })).statusCode, 200)
})

t.test('the deprecated call is recorded once the caller is let in, before the handler; a refused credential is not a call', async (t) => {
  const { app, events } = await build({ now: Date.UTC(2026, 6, 1) })
  t.teardown(() => app.close())
  let seen = -1
  app.get('/api/v1/odd', async (request) => {
    seen = events.filter((e) => e.type === 'version.deprecated_call').length
    request.apiVersion = 'v7'
    return 'odd'
  })
  t.equal((await app.inject({ url: '/api/v1/odd' })).statusCode, 401)
  t.equal(events.filter((e) => e.type === 'version.deprecated_call').length, 0, 'a 401 is not recorded')
  const res = await app.inject({ url: '/api/v1/odd', headers: BEARER })
  t.equal(res.statusCode, 200)
  t.equal(seen, 1, 'recorded before the handler ran')
  t.match(events.filter((e) => e.type === 'version.deprecated_call'), [{ version: 'v1', route: 'GET /api/v1/odd' }], 'a handler overwriting apiVersion changes nothing')
})
