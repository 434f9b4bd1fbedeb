import cookie from '@fastify/cookie'
import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { AUDIENCE, ISSUER, PASSWORD, SECRET, jwtApp, loginAs } from './helpers.js'

const NAME = '__Host-gk_access'

async function cookieApp (extra: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof jwtApp>> & { token: string }> {
  const made = await jwtApp({ cookie: { name: NAME }, ...extra })
  const { token } = await loginAs(made.app)
  return { ...made, token }
}

t.test('login sets the access token as a __Host- cookie: HttpOnly, Secure, SameSite=Strict, Path=/', async (t) => {
  const { app } = await jwtApp({ cookie: {} })
  t.teardown(() => app.close())
  await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD })
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 200)
  const set = String(res.headers['set-cookie'])
  t.match(set, new RegExp(`^${NAME}=${res.json().accessToken.replace(/[.]/g, '\\.')}; `))
  for (const attr of ['Max-Age=900', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) t.ok(set.includes(attr), attr)
  t.notOk(/domain=/i.test(set), 'no Domain (a __Host- cookie must not have one)')
})

t.test('a cookie authenticates safe requests without any CSRF header', async (t) => {
  const { app, token } = await cookieApp()
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/me', headers: { cookie: `${NAME}=${token}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().strategy, 'jwt')
})

t.test('unsafe cookie-authenticated requests need the CSRF defence (table)', async (t) => {
  const { app, token } = await cookieApp()
  t.teardown(() => app.close())
  const c = { cookie: `${NAME}=${token}` }
  const rows: Array<[string, Record<string, string>, string, number]> = [
    ['no CSRF header', {}, 'POST', 403],
    ['an empty CSRF header', { 'x-gk-csrf': '' }, 'POST', 403],
    ['the CSRF header', { 'x-gk-csrf': '1' }, 'POST', 200],
    ['the CSRF header on PUT-like methods too', {}, 'DELETE', 403],
    ['same-origin fetch metadata and the header', { 'x-gk-csrf': '1', 'sec-fetch-site': 'same-origin' }, 'POST', 200],
    ['cross-site fetch metadata', { 'x-gk-csrf': '1', 'sec-fetch-site': 'cross-site' }, 'POST', 403],
    ['same-site (a sibling subdomain) fetch metadata', { 'x-gk-csrf': '1', 'sec-fetch-site': 'same-site' }, 'POST', 403],
    ['user-initiated (none) fetch metadata', { 'x-gk-csrf': '1', 'sec-fetch-site': 'none' }, 'POST', 403],
    ['our own Origin', { 'x-gk-csrf': '1', origin: 'http://localhost:80' }, 'POST', 200],
    ['a foreign Origin', { 'x-gk-csrf': '1', origin: 'https://evil.example' }, 'POST', 403],
    ['the opaque null Origin', { 'x-gk-csrf': '1', origin: 'null' }, 'POST', 403]
  ]
  for (const [name, headers, method, status] of rows) {
    const res = await app.inject({ method: method as 'POST', url: '/me', headers: { ...c, ...headers } })
    t.equal(res.statusCode, status, name)
    if (status === 403) t.equal(res.json().code, 'GK_FORBIDDEN', name)
  }
  const header = await app.inject({ method: 'POST', url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(header.statusCode, 200, 'a header-authenticated request needs no CSRF defence: a browser never adds it on its own')
})

t.test('allowed origins can be listed', async (t) => {
  const { app, token } = await cookieApp({ csrf: { origins: ['https://app.example'], header: 'X-Requested-By' } })
  t.teardown(() => app.close())
  const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/me', headers: { cookie: `${NAME}=${token}`, ...headers } })
  t.equal((await post({ origin: 'https://app.example', 'x-requested-by': 'app' })).statusCode, 200)
  t.equal((await post({ origin: 'http://localhost:80', 'x-requested-by': 'app' })).statusCode, 403, 'only the listed ones')
  t.equal((await post({ origin: 'https://app.example', 'x-gk-csrf': '1' })).statusCode, 403, 'the configured header name')
})

t.test('a token in both header and cookie must be the same token', async (t) => {
  const { app, token } = await cookieApp()
  t.teardown(() => app.close())
  const other = (await app.gatekeeper.tokens!.issue({ id: 'x', roles: [] })).accessToken
  const both = await app.inject({ url: '/me', headers: { authorization: `Bearer ${other}`, cookie: `${NAME}=${token}` } })
  t.equal(both.statusCode, 400)
  t.equal(both.json().code, 'GK_INVALID_REQUEST')
  t.equal(both.headers['www-authenticate'], 'Bearer realm="api", error="invalid_request"')
  const same = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}`, cookie: `${NAME}=${token}` } })
  t.equal(same.statusCode, 200)
})

t.test('a bad cookie token is a 401 like a bad header token; other cookies are ignored', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  const bad = await app.inject({ url: '/me', headers: { cookie: `${NAME}=not.a.token` } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'GK_TOKEN_INVALID')
  const none = await app.inject({ url: '/me', headers: { cookie: 'theme=dark; gk_access=x' } })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'GK_UNAUTHORIZED')
  const empty = await app.inject({ url: '/me', headers: { cookie: `${NAME}=` } })
  t.equal(empty.json().code, 'GK_UNAUTHORIZED')
})

t.test('without the cookie option, a cookie is never read', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { token } = await loginAs(app)
  const res = await app.inject({ url: '/me', headers: { cookie: `${NAME}=${token}` } })
  t.equal(res.statusCode, 401)
})

t.test('logout clears the cookie and, carried by a cookie, needs the CSRF header', async (t) => {
  const { app, token } = await cookieApp()
  t.teardown(() => app.close())
  const c = { cookie: `${NAME}=${token}` }
  const forged = await app.inject({ method: 'POST', url: '/api/logout', headers: { ...c, origin: 'https://evil.example' } })
  t.equal(forged.statusCode, 403)
  const res = await app.inject({ method: 'POST', url: '/api/logout', headers: { ...c, 'x-gk-csrf': '1' } })
  t.equal(res.statusCode, 204)
  const set = String(res.headers['set-cookie'])
  t.match(set, new RegExp(`^${NAME}=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict`))
})

t.test('login from a foreign origin is refused when the cookie transport is on (login CSRF)', async (t) => {
  const { app } = await jwtApp({ cookie: {} })
  t.teardown(() => app.close())
  await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD })
  const payload = { username: 'alice', password: PASSWORD }
  const foreign = await app.inject({ method: 'POST', url: '/api/login', payload, headers: { origin: 'https://evil.example' } })
  t.equal(foreign.statusCode, 403)
  t.equal(foreign.headers['set-cookie'], undefined)
  const own = await app.inject({ method: 'POST', url: '/api/login', payload, headers: { origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' } })
  t.equal(own.statusCode, 200)
  const api = await app.inject({ method: 'POST', url: '/api/login', payload })
  t.equal(api.statusCode, 200, 'a client that is not a browser sends neither header and may log in')
})

t.test('an already registered @fastify/cookie is reused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cookie)
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, cookie: {} })
  app.get('/me', async (req) => req.auth)
  const { token } = await loginAs(app)
  t.equal((await app.inject({ url: '/me', headers: { cookie: `${NAME}=${token}` } })).statusCode, 200)
  t.equal(app.gatekeeper.jwt!.cookieName, NAME)
})
