import type { InjectOptions } from 'fastify'
import t from 'tap'
import { API_KEY, BEARER, build, type Teardown } from './helpers.js'

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (0[1-9]|[12]\d|3[01]) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d GMT$/
const SF_DATE = /^@-?\d{1,15}$/

async function app (t: Teardown) {
  const built = await build({
    versioning: {
      prefix: '/api',
      versions: {
        v1: { deprecated: '2026-06-01', sunset: '2027-06-01', successor: 'v2', auth: ['apiKey', 'jwt'], deprecationLink: 'https://example.com/docs/v1' },
        v2: { auth: ['jwt'] }
      }
    }
  })
  const a = built.app
  t.teardown(() => a.close())
  a.get('/api/v1/posts', async () => ['post'])
  a.get('/api/v1/posts/:id', async (req) => ({ id: (req.params as { id: string }).id }))
  a.get('/api/v1/legacy', async () => 'legacy')
  a.get('/api/v1/admin', { config: { auth: { permissions: ['admin'] } } }, async () => 'admin')
  a.post('/api/v1/posts', { schema: { body: { type: 'object', required: ['title'] } } }, async () => 'created')
  a.get('/api/v1/boom', async () => { throw new Error('boom') })
  a.get('/api/v1/public', { config: { auth: false } }, async () => 'public')
  a.get('/api/v2/posts', async () => ['post'])
  a.get('/api/v2/posts/:id', async () => 'post')
  a.get('/health', { config: { auth: false } }, async () => 'ok')
  await a.ready()
  return a
}

t.test('a deprecated version answers with Deprecation, Sunset and Link', async (t) => {
  const a = await app(t)
  const res = await a.inject({ url: '/api/v1/posts', headers: BEARER })
  t.equal(res.statusCode, 200)
  t.equal(res.headers.deprecation, '@1780272000', 'RFC 9745: 2026-06-01T00:00:00Z in epoch seconds')
  t.match(res.headers.deprecation, SF_DATE)
  t.equal(res.headers.sunset, 'Tue, 01 Jun 2027 00:00:00 GMT')
  t.match(res.headers.sunset, IMF_FIXDATE)
  t.equal(res.headers.link, '</api/v2/posts>; rel="successor-version", <https://example.com/docs/v1>; rel="deprecation"')
})

t.test('the successor link names the same resource when the successor serves the route, else the successor root', async (t) => {
  const a = await app(t)
  const rows: Array<[string, string]> = [
    ['/api/v1/posts/42', '</api/v2/posts/42>'],
    ['/api/v1/posts/42?token=secret', '</api/v2/posts/42>'],
    ['/api/v1/posts/a%3E%3B%20rel%3D%22x', '</api/v2/posts/a%3E%3B%20rel%3D%22x>'],
    ['/api/v1/legacy', '</api/v2>'],
    ['/api/v1/public', '</api/v2>']
  ]
  for (const [url, target] of rows) {
    const res = await a.inject({ url, headers: BEARER })
    t.equal(res.headers.link, `${target}; rel="successor-version", <https://example.com/docs/v1>; rel="deprecation"`, url)
  }
})

t.test('a current version and paths outside versions get no deprecation headers', async (t) => {
  const a = await app(t)
  for (const url of ['/api/v2/posts', '/health']) {
    const res = await a.inject({ url, headers: BEARER })
    t.equal(res.statusCode, 200, url)
    t.notOk(res.headers.deprecation, url)
    t.notOk(res.headers.sunset, url)
    t.notOk(res.headers.link, url)
  }
})

t.test('error responses of a deprecated version carry the headers too', async (t) => {
  const a = await app(t)
  const rows: Array<[string, InjectOptions, number, string | undefined]> = [
    ['no credential', { url: '/api/v1/posts' }, 401, 'GK_UNAUTHORIZED'],
    ['a bad credential', { url: '/api/v1/posts', headers: { authorization: 'Bearer bad' } }, 401, 'GK_TOKEN_INVALID'],
    ['a missing permission', { url: '/api/v1/admin', headers: BEARER }, 403, 'GK_FORBIDDEN'],
    ['an invalid body', { method: 'POST', url: '/api/v1/posts', headers: API_KEY, payload: {} as Record<string, string> }, 400, 'FST_ERR_VALIDATION'],
    ['a path the version does not serve', { url: '/api/v1/nothing-here', headers: BEARER }, 404, undefined],
    ['a failing handler', { url: '/api/v1/boom', headers: BEARER }, 500, undefined]
  ]
  for (const [name, req, status, code] of rows) {
    const res = await a.inject(req)
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, code, name)
    t.equal(res.headers.deprecation, '@1780272000', name)
    t.equal(res.headers.sunset, 'Tue, 01 Jun 2027 00:00:00 GMT', name)
    t.match(res.headers.link, /rel="successor-version"/, name)
  }
})

t.test('HEAD requests get the headers as GET does', async (t) => {
  const a = await app(t)
  const res = await a.inject({ method: 'HEAD', url: '/api/v1/posts', headers: BEARER })
  t.equal(res.statusCode, 200)
  t.equal(res.headers.deprecation, '@1780272000')
})

t.test('a version with only a sunset or only a successor sends only those headers', async (t) => {
  const { app: a } = await build({
    versioning: { versions: { v1: { sunset: '2030-01-01' }, v2: { successor: 'v3' }, v3: {} } }
  })
  t.teardown(() => a.close())
  a.get('/api/v1/x', { config: { auth: false } }, async () => 'x')
  a.get('/api/v2/x', { config: { auth: false } }, async () => 'x')
  const one = await a.inject('/api/v1/x')
  t.equal(one.headers.sunset, 'Tue, 01 Jan 2030 00:00:00 GMT')
  t.notOk(one.headers.deprecation)
  t.notOk(one.headers.link)
  const two = await a.inject('/api/v2/x')
  t.equal(two.headers.link, '</api/v3>; rel="successor-version"')
  t.notOk(two.headers.deprecation)
})
