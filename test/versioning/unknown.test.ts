import t from 'tap'
import { BEARER, build, SUNSET, type Teardown } from './helpers.js'

async function app (t: Teardown) {
  const built = await build()
  t.teardown(() => built.app.close())
  built.app.get('/api/v1/posts', async () => ['post'])
  built.app.get('/api/v2/posts', async () => ['post'])
  built.app.get('/api/health', { config: { auth: false } }, async () => 'ok')
  await built.app.ready()
  return built
}

t.test('an undeclared version answers 404 GK_NOT_FOUND naming the supported versions', async (t) => {
  const { app: a } = await app(t)
  for (const url of ['/api/v9/posts', '/api/v9', '/api/v0/', '/api/v3/posts?x=1']) {
    const res = await a.inject({ url, headers: BEARER })
    t.equal(res.statusCode, 404, url)
    t.equal(res.json().code, 'GK_NOT_FOUND', url)
    t.match(res.json().message, /API version v\d does not exist; supported versions: v1, v2$/, url)
  }
  for (const method of ['POST', 'DELETE'] as const) {
    t.equal((await a.inject({ method, url: '/api/v9/posts' })).json().code, 'GK_NOT_FOUND', method)
  }
})

t.test('a very long version number is not echoed back', async (t) => {
  const { app: a } = await app(t)
  const res = await a.inject('/api/v12345678901234567890/posts')
  t.equal(res.statusCode, 404)
  t.equal(res.json().message, 'Not found: this API version does not exist; supported versions: v1, v2')
})

t.test('a sunset version is no longer listed as supported', async (t) => {
  const { app: a, clock } = await app(t)
  clock.now = SUNSET
  t.match((await a.inject('/api/v9/x')).json().message, /supported versions: v2$/)
})

t.test('paths outside versions are untouched', async (t) => {
  const { app: a } = await app(t)
  t.equal((await a.inject('/api/health')).statusCode, 200, 'a route under the prefix')
  const rows = ['/api/nothing', '/api/v1beta/posts', '/api/V1/posts', '/elsewhere/v9/posts', '/api']
  for (const url of rows) {
    const res = await a.inject(url)
    t.equal(res.statusCode, 404, url)
    t.same(res.json(), { message: `Route GET:${url} not found`, error: 'Not Found', statusCode: 404 }, `${url}: Fastify's own 404`)
  }
})

t.test("an app's own not-found handler still serves non-version paths", async (t) => {
  const { app: a } = await build()
  t.teardown(() => a.close())
  a.setNotFoundHandler((request, reply) => { reply.code(404).send({ mine: true }) })
  await a.ready()
  t.same((await a.inject('/api/nothing')).json(), { mine: true })
  t.equal((await a.inject('/api/v9/x')).json().code, 'GK_NOT_FOUND')
})

t.test('a route under an undeclared version stops the app from starting', async (t) => {
  const { app: a } = await build()
  t.teardown(() => a.close())
  a.get('/api/v3/posts', async () => [])
  await t.rejects(async () => { await a.ready() }, { code: 'GK_CONFIG', message: /undeclared versions: \/api\/v3\/posts; declare the version/ })
})

t.test('versions at the root with an empty prefix', async (t) => {
  const { app: a } = await build({ versioning: { prefix: '', versions: { v1: { deprecated: '2026-06-01' }, v2: {} } } })
  t.teardown(() => a.close())
  a.get('/v1/posts', { config: { auth: false } }, async () => [])
  a.get('/health', { config: { auth: false } }, async () => 'ok')
  await a.ready()
  t.equal((await a.inject('/v1/posts')).headers.deprecation, '@1780272000')
  t.equal((await a.inject('/v7/posts')).json().code, 'GK_NOT_FOUND')
  t.equal((await a.inject('/health')).statusCode, 200)
})
