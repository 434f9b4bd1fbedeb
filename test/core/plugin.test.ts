import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { coreApp, headerStrategy } from '../helpers.js'

t.test('a route without config.auth requires authentication', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/secret', async (req) => ({ who: req.auth?.subject }))
  const anon = await app.inject('/secret')
  t.equal(anon.statusCode, 401)
  t.match(anon.json(), { statusCode: 401, code: 'GK_UNAUTHORIZED', error: 'Unauthorized' })
  t.equal(anon.headers['www-authenticate'], 'Bearer realm="api"')
  const ok = await app.inject({ url: '/secret', headers: { 'x-test-user': 'alice' } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { who: 'alice' })
})

t.test('auth: false makes a route public and request.auth stays null', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/health', { config: { auth: false } }, async (req) => ({ auth: req.auth }))
  const res = await app.inject('/health')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { auth: null })
})

t.test('a route registered before the core is protected too (fail closed)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/early', async () => 'early')
  app.get('/early-public', { config: { auth: false } }, async () => 'open')
  await app.register(gatekeeper, { store: memoryStore() })
  app.gatekeeper.registerStrategy(headerStrategy(app))
  t.equal((await app.inject('/early')).statusCode, 401)
  t.equal((await app.inject({ url: '/early', headers: { 'x-test-user': 'bob' } })).statusCode, 200)
  t.equal((await app.inject('/early-public')).statusCode, 200)
  // second request takes the cached policy
  t.equal((await app.inject('/early')).statusCode, 401)
})

t.test('the HEAD route Fastify adds for a GET is protected', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/doc', async () => 'body')
  t.equal((await app.inject({ method: 'HEAD', url: '/doc' })).statusCode, 401)
  t.equal((await app.inject({ method: 'HEAD', url: '/doc', headers: { 'x-test-user': 'a' } })).statusCode, 200)
})

t.test('a present but bad credential is not rescued by the next strategy', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.gatekeeper.registerStrategy(headerStrategy(app, 'other', 'ApiKey', 'x-other'))
  app.get('/both', { config: { auth: ['test', 'other'] } }, async (req) => ({ s: req.auth?.strategy }))
  const bad = await app.inject({ url: '/both', headers: { 'x-test-user': 'bad', 'x-other': 'carol' } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'GK_TOKEN_INVALID')
  t.equal(bad.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
  const second = await app.inject({ url: '/both', headers: { 'x-other': 'carol' } })
  t.same(second.json(), { s: 'other' })
  const none = await app.inject('/both')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="api", ApiKey realm="api"')
})

t.test('a route limited to one strategy ignores the others', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.gatekeeper.registerStrategy(headerStrategy(app, 'other', 'ApiKey', 'x-other'))
  app.get('/only-other', { config: { auth: 'other' } }, async () => 'ok')
  t.equal((await app.inject({ url: '/only-other', headers: { 'x-test-user': 'a' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/only-other', headers: { 'x-other': 'a' } })).statusCode, 200)
})

t.test('optional auth lets anonymous callers in but still refuses bad credentials', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/maybe', { config: { auth: { optional: true } } }, async (req) => ({ who: req.auth?.subject ?? null }))
  t.same((await app.inject('/maybe')).json(), { who: null })
  t.same((await app.inject({ url: '/maybe', headers: { 'x-test-user': 'dan' } })).json(), { who: 'dan' })
  t.equal((await app.inject({ url: '/maybe', headers: { 'x-test-user': 'bad' } })).statusCode, 401)
})

t.test('defaultAuth: public leaves unannotated routes open; a list pins strategies', async (t) => {
  const open = await coreApp({ defaultAuth: 'public' })
  t.teardown(() => open.close())
  open.get('/x', async () => 'x')
  t.equal((await open.inject('/x')).statusCode, 200)

  const pinned = await coreApp({ defaultAuth: ['test'] })
  t.teardown(() => pinned.close())
  pinned.get('/y', async () => 'y')
  t.equal((await pinned.inject('/y')).statusCode, 401)
  t.equal((await pinned.inject({ url: '/y', headers: { 'x-test-user': 'e' } })).statusCode, 200)
})

t.test('a protected route with no registered strategy refuses everybody', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  app.get('/locked', async () => 'never')
  const res = await app.inject('/locked')
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a route naming an unregistered strategy fails at start-up', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/typo', { config: { auth: 'jwtt' } }, async () => 'x')
  await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /jwtt/ })
})

t.test('strict mode refuses to start while a route lacks config.auth', async (t) => {
  const app = await coreApp({ strict: true })
  t.teardown(() => app.close())
  app.get('/explicit', { config: { auth: 'test' } }, async () => 'x')
  app.get('/public', { config: { auth: false } }, async () => 'x')
  app.get('/implicit', async () => 'x')
  await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /GET \/implicit/ })

  const fine = await coreApp({ strict: true })
  t.teardown(() => fine.close())
  fine.get('/explicit', { config: { auth: 'test' } }, async () => 'x')
  await t.resolves(async () => { await fine.ready() })
})

t.test('routes() lists every route with its protection', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/a', { config: { auth: false } }, async () => 'a')
  app.put('/b/:id', { config: { auth: { strategies: ['test'], permissions: ['b:update'], owner: () => 'x' } } }, async () => 'b')
  await app.ready()
  const routes = app.gatekeeper.routes()
  t.match(routes.find((r) => r.method === 'GET' && r.url === '/a'), { public: true, explicit: true })
  t.match(routes.find((r) => r.method === 'PUT'), { public: false, strategies: ['test'], permissions: ['b:update'], owner: true })
  t.ok(routes.some((r) => r.method === 'HEAD' && r.url === '/a'))
})

t.test('malformed config.auth fails with GK_CONFIG naming the route', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['empty string', ''],
    ['empty array', []],
    ['number', 42],
    ['unknown key', { strategy: 'test' }],
    ['roles not strings', { roles: [1] }],
    ['owner not a function', { owner: 'me' }],
    ['optional not boolean', { optional: 'yes' }],
    ['empty strategies', { strategies: [] }]
  ]
  for (const [name, auth] of cases) {
    const app = await coreApp()
    app.get('/bad', { config: { auth: auth as never } }, async () => 'x')
    await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /GET \/bad/ }, name)
    await app.close()
  }
})

t.test('bad core options fail at register time with GK_CONFIG', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing store', {}, /store/],
    ['store without parts', { store: { close: async () => {} } }, /store\.users/],
    ['store without close', { store: { ...memoryStore(), close: undefined } }, /close/],
    ['unknown option', { store: memoryStore(), stict: true }, /stict/],
    ['bad defaultAuth', { store: memoryStore(), defaultAuth: 'everyone' }, /defaultAuth/],
    ['bad strict', { store: memoryStore(), strict: 'yes' }, /strict/],
    ['bad realm', { store: memoryStore(), realm: 'a"b' }, /realm/],
    ['bad now', { store: memoryStore(), now: 5 }, /now/],
    ['bad audit', { store: memoryStore(), audit: { onEvent: 'x' } }, /onEvent/],
    ['unknown audit key', { store: memoryStore(), audit: { sink: () => {} } }, /audit\.sink/],
    ['bad audit.log', { store: memoryStore(), audit: { log: 1 } }, /audit\.log/],
    ['bad audit.maxPending', { store: memoryStore(), audit: { maxPending: 0 } }, /maxPending/],
    ['audit not an object', { store: memoryStore(), audit: 3 }, /audit/]
  ]
  for (const [name, opts, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(gatekeeper, opts as never).ready() }, { code: 'GK_CONFIG', message }, name)
    await app.close()
  }
})

t.test('two strategies of the same name are a configuration error', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  t.throws(() => app.gatekeeper.registerStrategy(headerStrategy(app)), { code: 'GK_CONFIG' })
})

t.test('app.authenticate works as an explicit onRequest hook', async (t) => {
  const app = await coreApp({ defaultAuth: 'public' })
  t.teardown(() => app.close())
  app.get('/explicit', { onRequest: app.authenticate }, async (req) => ({ who: req.auth?.subject }))
  app.get('/only-test', { onRequest: app.gatekeeper.authenticate(['test']) }, async (req) => ({ who: req.auth?.subject }))
  t.equal((await app.inject('/explicit')).statusCode, 401)
  t.same((await app.inject({ url: '/explicit', headers: { 'x-test-user': 'f' } })).json(), { who: 'f' })
  t.same((await app.inject({ url: '/only-test', headers: { 'x-test-user': 'g' } })).json(), { who: 'g' })
})

t.test('unknown routes answer 404 without asking for credentials', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const res = await app.inject('/nowhere')
  t.equal(res.statusCode, 404)
})

t.test('the store is closed with the app', async (t) => {
  let closed = 0
  const store = { ...memoryStore(), close: async () => { closed++ } }
  const app = Fastify()
  await app.register(gatekeeper, { store })
  await app.close()
  t.equal(closed, 1)
})

t.test('store.init runs at registration', async (t) => {
  let inits = 0
  const store = { ...memoryStore(), init: async () => { inits++ } }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store })
  t.equal(inits, 1)
})

t.test('a Bearer credential no strategy claims is invalid, not absent', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/p', async () => 'p')
  app.get('/maybe', { config: { auth: { optional: true } } }, async () => 'm')
  for (const url of ['/p', '/maybe']) {
    const res = await app.inject({ url, headers: { authorization: 'Bearer opaque-refresh-token-value' } })
    t.equal(res.statusCode, 401, url)
    t.equal(res.json().code, 'GK_TOKEN_INVALID')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
  }
  // another scheme is simply no credential of ours (RFC 6750 §3: no error code)
  const basic = await app.inject({ url: '/p', headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  t.equal(basic.json().code, 'GK_UNAUTHORIZED')
  t.equal(basic.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a later onRoute hook may set config.auth of third-party routes in place', async (t) => {
  const app = await coreApp({ strict: true })
  t.teardown(() => app.close())
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => { (route.config as { auth?: unknown }).auth = false })
    docs.get('/docs/json', async () => ({ openapi: '3.1.0' }))
  })
  app.get('/private', { config: { auth: 'test' } }, async () => 'p')
  await app.ready()
  t.equal((await app.inject('/docs/json')).statusCode, 200)
  t.equal((await app.inject('/private')).statusCode, 401)
})

t.test('a 404 answer never repeats the query string of the URL', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  app.get('/things/:id', { config: { auth: false } }, async (req, reply) => reply.code(404).send({ message: `no ${req.url}` }))
  const unknown = await app.inject('/nowhere?token=s3cr3t-value&x=1')
  t.equal(unknown.statusCode, 404)
  t.notOk(unknown.body.includes('s3cr3t-value'))
  t.match(unknown.json().message, /GET:\/nowhere\?\[Redacted\]/)
  const handler = await app.inject('/things/1?api_key=s3cr3t-value')
  t.notOk(handler.body.includes('s3cr3t-value'))
  t.equal((await app.inject('/nowhere')).json().message, 'Route GET:/nowhere not found')
})
