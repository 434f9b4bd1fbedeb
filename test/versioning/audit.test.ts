import t from 'tap'
import { API_KEY, BEARER, build, DEPRECATED, settle, type Teardown } from './helpers.js'

const HOUR = 3_600_000

async function app (t: Teardown, now: number) {
  const built = await build({ now })
  t.teardown(() => built.app.close())
  built.app.get('/api/v1/posts', async () => ['post'])
  built.app.get('/api/v1/open', { config: { auth: false } }, async () => 'open')
  built.app.get('/api/v2/posts', async () => ['post'])
  await built.app.ready()
  const calls = () => built.events.filter((e) => e.type === 'version.deprecated_call')
  return { ...built, calls }
}

t.test('a call to a deprecated version is audited once per hour per version and subject', async (t) => {
  const start = DEPRECATED + 1000
  const { app: a, clock, calls } = await app(t, start)
  for (let i = 0; i < 3; i++) await a.inject({ url: '/api/v1/posts', headers: BEARER })
  await a.inject({ url: '/api/v1/posts', headers: { authorization: 'Bearer bob' } })
  await a.inject({ url: '/api/v1/posts', headers: API_KEY })
  await settle()
  t.same(calls().map((e) => e.subject), ['alice', 'bob', 'app1'])
  t.match(calls()[0], {
    type: 'version.deprecated_call',
    outcome: 'info',
    version: 'v1',
    route: 'GET /api/v1/posts',
    deprecated: '2026-06-01T00:00:00.000Z',
    sunset: '2027-06-01T00:00:00.000Z',
    successor: 'v2'
  })

  clock.now = start + HOUR - 1
  await a.inject({ url: '/api/v1/posts', headers: BEARER })
  await settle()
  t.equal(calls().length, 3, 'still within the hour')
  clock.now = start + HOUR
  await a.inject({ url: '/api/v1/posts', headers: BEARER })
  await settle()
  t.equal(calls().length, 4, 'an hour after the first')
})

t.test('anonymous callers are told apart by IP', async (t) => {
  const { app: a, calls } = await app(t, DEPRECATED)
  await a.inject('/api/v1/open')
  await a.inject('/api/v1/open')
  await a.inject({ url: '/api/v1/open', remoteAddress: '198.51.100.7' })
  await a.inject('/api/v1/posts')
  await settle()
  t.same(calls().map((e) => [e.subject, e.ip]), [[null, '127.0.0.1'], [null, '198.51.100.7']])
})

t.test('no event before the deprecation date nor for a current version', async (t) => {
  const { app: a, clock, calls } = await app(t, DEPRECATED - 1000)
  const res = await a.inject({ url: '/api/v1/posts', headers: BEARER })
  t.equal(res.headers.deprecation, '@1780272000', 'the coming deprecation is announced (RFC 9745 §2.1)')
  clock.now = DEPRECATED
  await a.inject({ url: '/api/v2/posts', headers: BEARER })
  await settle()
  t.equal(calls().length, 0)
})

t.test('a path the deprecated version does not serve is audited under the version pattern, not the raw path', async (t) => {
  const { app: a, calls } = await app(t, DEPRECATED)
  await a.inject({ url: '/api/v1/nothing?api_key=secret', headers: BEARER })
  await settle()
  t.equal(calls()[0]?.route, 'GET /api/v1/*')
})
