import t from 'tap'
import { BEARER, build, SUNSET, type Teardown } from './helpers.js'

async function app (t: Teardown) {
  const built = await build()
  t.teardown(() => built.app.close())
  built.app.get('/api/v1/posts', async () => ['post'])
  built.app.get('/api/v1/open', { config: { auth: false } }, async () => 'open')
  built.app.get('/api/v2/posts', async () => ['post'])
  await built.app.ready()
  return built
}

t.test('a version answers until its sunset and 410 GK_VERSION_GONE from the sunset instant on', async (t) => {
  const { app: a, clock } = await app(t)
  const rows: Array<[string, number, number, string | undefined]> = [
    ['one second before', SUNSET - 1000, 200, undefined],
    ['one millisecond before', SUNSET - 1, 200, undefined],
    ['at the sunset', SUNSET, 410, 'GK_VERSION_GONE'],
    ['one millisecond after', SUNSET + 1, 410, 'GK_VERSION_GONE'],
    ['a year after', SUNSET + 365 * 86_400_000, 410, 'GK_VERSION_GONE']
  ]
  for (const [when, now, status, code] of rows) {
    clock.now = now
    const res = await a.inject({ url: '/api/v1/posts', headers: BEARER })
    t.equal(res.statusCode, status, when)
    if (code !== undefined) {
      t.same(res.json(), { statusCode: 410, code, error: 'Gone', message: 'API version v1 is no longer available' }, when)
    }
  }
})

t.test('a sunset version checks no credential: good, bad and missing ones all get 410', async (t) => {
  const { app: a, clock, calls } = await app(t)
  clock.now = SUNSET
  const rows: Array<[string, Record<string, string>]> = [
    ['a valid token', BEARER],
    ['an invalid token', { authorization: 'Bearer bad' }],
    ['an invalid key', { 'x-api-key': 'bad' }],
    ['no credential', {}]
  ]
  for (const [name, headers] of rows) {
    const res = await a.inject({ url: '/api/v1/posts', headers })
    t.equal(res.statusCode, 410, name)
    t.equal(res.json().code, 'GK_VERSION_GONE', name)
    t.notOk(res.headers['www-authenticate'], `${name}: no challenge`)
  }
  t.same(calls, { jwt: 0, apiKey: 0 }, 'no strategy ran')
})

t.test('the 410 keeps the Sunset, Deprecation and successor headers', async (t) => {
  const { app: a, clock } = await app(t)
  clock.now = SUNSET
  const res = await a.inject('/api/v1/posts')
  t.equal(res.headers.sunset, 'Tue, 01 Jun 2027 00:00:00 GMT')
  t.equal(res.headers.deprecation, '@1780272000')
  t.equal(res.headers.link, '</api/v2/posts>; rel="successor-version"')
})

t.test('public routes, unknown paths and HEAD of a sunset version are gone too; the successor is not', async (t) => {
  const { app: a, clock } = await app(t)
  clock.now = SUNSET
  t.equal((await a.inject('/api/v1/open')).statusCode, 410, 'public route')
  t.equal((await a.inject('/api/v1/no-such-route')).statusCode, 410, 'path the version never served')
  t.equal((await a.inject('/api/v1')).statusCode, 410, 'the version root')
  t.equal((await a.inject({ method: 'HEAD', url: '/api/v1/posts' })).statusCode, 410, 'HEAD')
  t.equal((await a.inject({ url: '/api/v2/posts', headers: BEARER })).statusCode, 200, 'v2')
})

t.test('version.gone is audited at most once per hour per version and IP', async (t) => {
  const { app: a, clock, events } = await app(t)
  clock.now = SUNSET
  for (let i = 0; i < 5; i++) await a.inject('/api/v1/posts')
  await a.inject({ url: '/api/v1/posts', remoteAddress: '203.0.113.9' })
  clock.now = SUNSET + 3_600_000
  await a.inject('/api/v1/posts')
  const gone = events.filter((e) => e.type === 'version.gone')
  t.equal(gone.length, 3)
  t.match(gone[0], { type: 'version.gone', outcome: 'failure', reason: 'GK_VERSION_GONE', version: 'v1', route: 'GET /api/v1/posts', ip: '127.0.0.1' })
  t.equal(gone[1]?.ip, '203.0.113.9')
  t.equal(events.filter((e) => e.type === 'version.deprecated_call').length, 0, 'a 410 is not a deprecated call')
})

t.test('every spelling that reaches a route before the sunset gets 410 after it: the gate is bound to the route, not to the URL text', async (t) => {
  const { app: a, clock, calls } = await build({
    fastify: { routerOptions: { caseSensitive: false, ignoreDuplicateSlashes: true, ignoreTrailingSlash: true } }
  })
  t.teardown(() => a.close())
  a.get('/api/v1/posts/:id', async () => 'post')
  await a.ready()
  const rows = [
    '/api/v1/posts/1',
    '/API/V1/posts/1',
    '/api//v1/posts/1',
    '//api/v1//posts/1/',
    '/api/v1/posts/1?version=v2',
    '/api/v1/../v1/posts/1',
    '/api/%76%31/posts/1'
  ]
  for (const url of rows) {
    clock.now = SUNSET - 1
    t.equal((await a.inject({ url, headers: BEARER })).statusCode, 200, `${url} reaches the route before the sunset`)
    clock.now = SUNSET
    const res = await a.inject({ url, headers: BEARER })
    t.equal(res.statusCode, 410, `${url} is gone at the sunset`)
    t.equal(res.json().code, 'GK_VERSION_GONE', url)
  }
  t.equal(calls.jwt, rows.length, 'credentials were checked only before the sunset')
})
