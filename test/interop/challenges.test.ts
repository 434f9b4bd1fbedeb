import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import t from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { errors } from '../../lib/core/errors.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { rbac } from '../../lib/rbac/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { basic } from '../oauth2/helpers.js'
import { parseChallenges } from './challenge-parser.js'

const PASSWORD = 'correct horse battery staple'

t.test('the strict RFC 9110 parser accepts the grammar and nothing else', async (t) => {
  t.same(parseChallenges('Bearer realm="api"'), [{ scheme: 'Bearer', params: { realm: 'api' } }])
  t.same(parseChallenges('Bearer realm="api", error="invalid_token", ApiKey realm="api"'), [
    { scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token' } },
    { scheme: 'ApiKey', params: { realm: 'api' } }
  ])
  t.same(parseChallenges('Basic'), [{ scheme: 'Basic', params: {} }])
  t.same(parseChallenges('Negotiate abc+/==, Basic realm=x'), [{ scheme: 'Negotiate', token68: 'abc+/==', params: {} }, { scheme: 'Basic', params: { realm: 'x' } }])
  t.same(parseChallenges('Newauth realm = "a \\"b\\"" ,, Basic'), [{ scheme: 'Newauth', params: { realm: 'a "b"' } }, { scheme: 'Basic', params: {} }])
  for (const bad of ['', 'Bearer realm="api', 'Bearer realm="a"b"', 'Bearer realm="a" error="b"', 'Bearer  realm="a", realm="b"',
    'Bearer\trealm="a"', '"Bearer"', 'Bearer realm="a\u0001"', 'Bearer realm="a",', 'Bearer realm=a b', 'Bearer realm="a", =b']) {
    if (bad === 'Bearer realm="a",') {
      t.same(parseChallenges(bad), [{ scheme: 'Bearer', params: { realm: 'a' } }], 'a trailing empty list element is tolerated (RFC 9110 §5.6.1)')
      continue
    }
    t.throws(() => parseChallenges(bad), { name: 'ChallengeSyntaxError' }, JSON.stringify(bad))
  }
})

/** Every plugin that answers 401 or 403, with cookies, API keys, roles and OAuth clients. */
async function fullApp (): Promise<{ app: FastifyInstance, fixtures: Record<string, string>, clock: { now: number } }> {
  const clock = { now: Date.now() }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false }, bruteForce: false, now: () => clock.now })
  await app.register(jwt, { secret: 's'.repeat(32), issuer: 'https://api.example', audience: 'api', cookie: {} })
  await app.register(refresh, { transport: 'both' })
  await app.register(apiKey)
  await app.register(rbac, { roles: { user: { permissions: ['posts:read'] }, admin: { permissions: ['*'] } } })
  await app.register(oauth2)
  app.get('/posts', { config: { auth: { permissions: ['posts:read'] } } }, async () => [])
  app.delete('/posts/:id', { config: { auth: { permissions: ['posts:delete'] } } }, async () => ({}))
  app.get('/reports', { config: { auth: { scopes: ['reports:read'] } } }, async () => [])
  app.get('/jwt-only', { config: { auth: 'jwt' } }, async () => 'ok')
  app.post('/notes', async () => 'ok')
  // As the OpenID Connect callback refuses a provider's answer: a GK_ 401 thrown without a challenge.
  app.get('/callback', { config: { auth: false } }, async () => { throw new errors.GK_INVALID_GRANT() })
  await app.ready()
  const user = await app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const login = (await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })).json()
  const { key } = await app.gatekeeper.apiKeys.create({ ownerId: user.id, name: 'job', scopes: ['posts:read'] })
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['other:read'] })
  const cc = (await app.inject({ method: 'POST', url: '/api/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, client.secret) }, payload: 'grant_type=client_credentials' })).json()
  clock.now -= 3_600_000
  const expired = await app.gatekeeper.tokens.issue({ id: user.id, roles: ['user'] })
  clock.now += 3_600_000
  return { clock, app, fixtures: { token: login.accessToken, refreshToken: login.refreshToken, key, clientToken: cc.access_token, clientId: client.id, expired: expired.accessToken } }
}

t.test('every 401 and 403 the library sends carries a challenge naming the scheme of the credential presented (table, strict RFC 9110 parser)', async (t) => {
  const { app, fixtures: f } = await fullApp()
  t.teardown(() => app.close())
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
  const cookie = { cookie: `__Host-gk_access=${f.token}` }
  // [name, request, status, [scheme, error?] of each expected challenge]
  const rows: Array<[string, InjectOptions, number, Array<[string, string?]>]> = [
    ['no credential on a route any strategy may open', { url: '/posts' }, 401, [['Bearer'], ['ApiKey']]],
    ['no credential on a jwt-only route', { url: '/jwt-only' }, 401, [['Bearer']]],
    ['a forged token', { url: '/posts', headers: bearer(`${f.token}x`) }, 401, [['Bearer', 'invalid_token']]],
    ['an expired token', { url: '/posts', headers: bearer(f.expired as string) }, 401, [['Bearer', 'invalid_token']]],
    ['a refresh token sent as Bearer', { url: '/posts', headers: bearer(f.refreshToken as string) }, 401, [['Bearer', 'invalid_token']]],
    ['an unknown API key in x-api-key', { url: '/posts', headers: { 'x-api-key': 'gk_000000000000000000000000000000000000' } }, 401, [['ApiKey', 'invalid_token']]],
    ['a user without the permission', { method: 'DELETE', url: '/posts/1', headers: bearer(f.token as string) }, 403, [['Bearer', 'insufficient_scope']]],
    ['an API key without the permission', { method: 'DELETE', url: '/posts/1', headers: { 'x-api-key': f.key as string } }, 403, [['ApiKey', 'insufficient_scope']]],
    ['an API key sent as Bearer, without the permission', { method: 'DELETE', url: '/posts/1', headers: bearer(f.key as string) }, 403, [['ApiKey', 'insufficient_scope']]],
    ['a client token without the scope', { url: '/reports', headers: bearer(f.clientToken as string) }, 403, [['Bearer', 'insufficient_scope']]],
    ['an API key on the session list', { url: '/api/sessions', headers: { 'x-api-key': f.key as string } }, 403, [['ApiKey', 'insufficient_scope']]],
    ['an API key on logout everywhere', { method: 'POST', url: '/api/logout/all', headers: { 'x-api-key': f.key as string } }, 403, [['ApiKey', 'insufficient_scope']]],
    ['an API key on the key routes', { url: '/api/keys', headers: { 'x-api-key': f.key as string } }, 403, [['ApiKey', 'insufficient_scope']]],
    ['a client token on the session list', { url: '/api/sessions', headers: bearer(f.clientToken as string) }, 403, [['Bearer', 'insufficient_scope']]],
    ['a client token on the password route', { method: 'POST', url: '/api/password', headers: bearer(f.clientToken as string), payload: { currentPassword: 'a', newPassword: 'b' } }, 403, [['Bearer', 'insufficient_scope']]],
    ['a user creating a key for someone else without apikeys:manage', { method: 'POST', url: '/api/keys', headers: bearer(f.token as string), payload: { name: 'x', ownerId: 'someone-else' } }, 403, [['Bearer', 'insufficient_scope']]],
    ['no credential on the key routes', { url: '/api/keys' }, 401, [['Bearer'], ['ApiKey']]],
    ['a wrong password at login', { method: 'POST', url: '/api/login', payload: { username: 'alice', password: 'wrong password!' } }, 401, [['Bearer']]],
    ['a cross-site login', { method: 'POST', url: '/api/login', headers: { origin: 'https://evil.example' }, payload: { username: 'alice', password: PASSWORD } }, 403, [['Bearer']]],
    ['a cookie POST without the CSRF header', { method: 'POST', url: '/notes', headers: cookie }, 403, [['Bearer']]],
    ['a cross-site logout', { method: 'POST', url: '/api/logout', headers: { 'sec-fetch-site': 'cross-site' } }, 403, [['Bearer']]],
    ['a refused refresh', { method: 'POST', url: '/api/token/refresh', payload: { refreshToken: 'x'.repeat(43) } }, 401, [['Bearer', 'invalid_token']]],
    ['a cross-site refresh', { method: 'POST', url: '/api/token/refresh', headers: { 'sec-fetch-site': 'cross-site' } }, 403, [['Bearer']]],
    ['a GK_ 401 thrown without a challenge (an OpenID Connect callback)', { url: '/callback' }, 401, [['Bearer']]],
    ['a wrong client secret at the token endpoint', { method: 'POST', url: '/api/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(f.clientId as string, 'nope') }, payload: 'grant_type=client_credentials' }, 401, [['Basic']]]
  ]
  const seen = new Set<number>()
  for (const [name, request, status, expected] of rows) {
    const res = await app.inject(request)
    t.equal(res.statusCode, status, `${name}: ${status}`)
    seen.add(res.statusCode)
    const header = res.headers['www-authenticate']
    t.type(header, 'string', `${name}: one WWW-Authenticate field`)
    let parsed
    try {
      parsed = parseChallenges(header as string)
    } catch (err) {
      t.fail(`${name}: ${(err as Error).message}`)
      continue
    }
    t.same(parsed.map((c) => [c.scheme, c.params.error]), expected.map(([s, e]) => [s, e]), `${name}: ${header as string}`)
    for (const c of parsed) t.equal(c.params.realm, 'api', `${name}: realm`)
  }
  t.same([...seen].sort(), [401, 403])
})
