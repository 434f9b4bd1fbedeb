import t from 'tap'
import { rbac } from '../../lib/rbac/plugin.js'
import { bearer, clock, resourceApp } from './helpers.js'
import { INTROSPECTOR, OPAQUE_RESOURCE, OTHER_RESOURCE, RESOURCE, serviceToken, signingKey, startProvider, userToken } from './provider.js'

// Against a real authorization server on loopback: oidc-provider with
// resource indicators (RFC 8707), ES256 JWT access tokens (RFC 9068) for
// the API and opaque, introspectable ones (RFC 7662) for a second resource.

const ROLES = { editor: { permissions: ['posts:read', 'posts:write'] }, viewer: { permissions: ['posts:read'] } }

t.test('a client-credentials token opens the routes its scopes allow', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const app = await resourceApp({ issuers: [{ issuer: p.issuer }] })
  t.teardown(() => app.close())
  const token = await serviceToken(p.issuer, RESOURCE, 'tools:read')
  const me = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { strategy: 'resourceServer', kind: 'application', subject: 'reports-bot', clientId: 'reports-bot', issuer: p.issuer, scopes: ['tools:read'], roles: [], permissions: [] })
  t.equal((await app.inject({ url: '/tools', headers: bearer(token) })).statusCode, 200)
  const posts = await app.inject({ url: '/posts', headers: bearer(token) })
  t.equal(posts.statusCode, 403, 'no posts:read scope, no permission')
  t.equal(posts.json().code, 'GK_FORBIDDEN')
  t.equal(posts.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", resource_metadata="https://api.test/.well-known/oauth-protected-resource/mcp", scope="posts:read"')
  const wider = await serviceToken(p.issuer, RESOURCE, 'tools:read posts:read')
  t.equal((await app.inject({ url: '/posts', headers: bearer(wider) })).statusCode, 200)
})

t.test('an authorization-code token of a user (scripted login) carries the user, their roles and the client', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const app = await resourceApp({ issuers: [{ issuer: p.issuer }] })
  await app.register(rbac, { roles: ROLES })
  t.teardown(() => app.close())
  const { accessToken, idToken } = await userToken(p.issuer, 'alice', RESOURCE, 'openid posts:read posts:write')
  const me = await app.inject({ url: '/me', headers: bearer(accessToken) })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { kind: 'user', subject: 'alice', roles: ['editor'], clientId: 'web-app', issuer: p.issuer, scopes: ['posts:read', 'posts:write'] })
  t.same(me.json().permissions, ['posts:read', 'posts:write'])
  t.equal((await app.inject({ url: '/posts', headers: bearer(accessToken) })).statusCode, 200)
  t.equal((await app.inject({ url: '/tools', headers: bearer(accessToken) })).statusCode, 403, 'a person without the tools:read scope')
  // The ID token of the same login, signed by the same keys, is not an access token.
  const id = await app.inject({ url: '/me', headers: bearer(idToken) })
  t.equal(id.statusCode, 401)
  t.equal(id.json().code, 'GK_TOKEN_INVALID')
})

t.test('a user token whose scopes do not cover a permission of its roles is refused it (userScopes restrict), unless the issuer ignores user scopes', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const { accessToken } = await userToken(p.issuer, 'alice', RESOURCE, 'openid tools:read')
  for (const [userScopes, status] of [['restrict', 403], ['ignore', 200]] as const) {
    const app = await resourceApp({ issuers: [{ issuer: p.issuer, userScopes }] })
    await app.register(rbac, { roles: ROLES })
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/posts', headers: bearer(accessToken) })).statusCode, status, userScopes)
  }
})

t.test('a token minted for another resource of the same provider is refused', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const app = await resourceApp({ issuers: [{ issuer: p.issuer }] })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/me', headers: bearer(await serviceToken(p.issuer, OTHER_RESOURCE)) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_TOKEN_INVALID')
})

t.test('key rotation: a new kid is fetched, old tokens stay valid until the provider drops their key', async (t) => {
  const k1 = await signingKey('k1')
  const k2 = await signingKey('k2')
  let p = await startProvider({ keys: [k1] })
  const port = p.port
  t.teardown(async () => { await p.close() })
  const c = clock()
  const app = await resourceApp({ issuers: [{ issuer: p.issuer }], jwks: { cooldown: '1s', minAge: '1s', maxAge: '1m' } }, { now: c.now })
  t.teardown(() => app.close())
  await app.ready()
  const old = await serviceToken(p.issuer)
  t.equal((await app.inject({ url: '/me', headers: bearer(old) })).statusCode, 200)

  // The provider publishes k2 first (it signs with it) and keeps k1.
  await p.close()
  p = await startProvider({ keys: [k2, k1], port })
  const fresh = await serviceToken(p.issuer)
  c.advance(2000)
  t.equal((await app.inject({ url: '/me', headers: bearer(fresh) })).statusCode, 200, 'the unknown kid made one fetch')
  t.same(app.gatekeeper.resourceServer.issuers()[0]?.kids, ['k2', 'k1'])
  t.equal((await app.inject({ url: '/me', headers: bearer(old) })).statusCode, 200, 'k1 tokens are still good')

  // The provider drops k1; once the key set is refreshed (after its max-age), k1 tokens are refused, cached or not.
  await p.close()
  p = await startProvider({ keys: [k2], port })
  const events: unknown[] = []
  app.gatekeeper.on('resource.keys_changed', (e) => { events.push(e) })
  c.advance(61_000)
  t.equal((await app.inject({ url: '/me', headers: bearer(fresh) })).statusCode, 200, 'stale keys serve while the refresh runs')
  for (let i = 0; i < 50 && app.gatekeeper.resourceServer.issuers()[0]?.kids.length !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(app.gatekeeper.resourceServer.issuers()[0]?.kids, ['k2'])
  t.match(events, [{ type: 'resource.keys_changed', issuer: p.issuer, removed: ['k1'], added: [] }])
  const dropped = await app.inject({ url: '/me', headers: bearer(old) })
  t.equal(dropped.statusCode, 401, 'a token of a withdrawn key is refused even though it was cached')
  t.equal((await app.inject({ url: '/me', headers: bearer(fresh) })).statusCode, 200)
})

t.test('opaque tokens are introspected (RFC 7662) with client authentication, and the answers cached', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const app = await resourceApp({
    resource: OPAQUE_RESOURCE,
    issuers: [{ issuer: p.issuer, introspection: { clientId: INTROSPECTOR.id, clientSecret: INTROSPECTOR.secret } }]
  })
  await app.register(rbac, { roles: ROLES })
  t.teardown(() => app.close())
  const token = await serviceToken(p.issuer, OPAQUE_RESOURCE, 'tools:read')
  t.notOk(token.includes('.'), 'an opaque token')
  const me = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(me.statusCode, 200, me.body)
  t.match(me.json(), { kind: 'application', subject: 'reports-bot', clientId: 'reports-bot', issuer: p.issuer, scopes: ['tools:read'] })
  t.equal(p.introspections(), 1)
  t.equal((await app.inject({ url: '/tools', headers: bearer(token) })).statusCode, 200)
  t.equal(p.introspections(), 1, 'the second request used the cached answer')

  const user = await userToken(p.issuer, 'bob', OPAQUE_RESOURCE, 'openid posts:read')
  const bob = await app.inject({ url: '/posts', headers: bearer(user.accessToken) })
  t.equal(bob.statusCode, 200, bob.body)
  t.match((await app.inject({ url: '/me', headers: bearer(user.accessToken) })).json(), { kind: 'user', subject: 'bob', roles: ['viewer'], clientId: 'web-app' })

  // A made-up opaque token: inactive, and that answer is cached briefly too.
  const before = p.introspections()
  const fake = 'x'.repeat(43)
  t.equal((await app.inject({ url: '/me', headers: bearer(fake) })).statusCode, 401)
  t.equal((await app.inject({ url: '/me', headers: bearer(fake) })).statusCode, 401)
  t.equal(p.introspections() - before, 1)

  // An opaque token for another resource: active, but not for us.
  const other = await app.inject({ url: '/me', headers: bearer(await serviceToken(p.issuer, RESOURCE)) })
  t.equal(other.statusCode, 401, 'a JWT for another resource')
})

t.test('introspection with a wrong client secret, or the provider down, is 503, never let in', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const token = await serviceToken(p.issuer, OPAQUE_RESOURCE)
  const wrong = await resourceApp({
    resource: OPAQUE_RESOURCE,
    issuers: [{ issuer: p.issuer, introspection: { clientId: INTROSPECTOR.id, clientSecret: 'not-the-secret-not-the-secret-0123' } }]
  })
  t.teardown(() => wrong.close())
  const res = await wrong.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GK_PROVIDER_UNAVAILABLE')
  t.ok(res.headers['retry-after'])

  const right = await resourceApp({
    resource: OPAQUE_RESOURCE,
    issuers: [{ issuer: p.issuer, introspection: { clientId: INTROSPECTOR.id, clientSecret: INTROSPECTOR.secret } }]
  })
  t.teardown(() => right.close())
  await right.ready()
  await p.close()
  const down = await right.inject({ url: '/me', headers: bearer(token) })
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'GK_PROVIDER_UNAVAILABLE')
})

t.test('metadata is discovered by RFC 8414 from oidc-provider, and the OpenID Connect document where RFC 8414 is not served', async (t) => {
  const p = await startProvider()
  t.teardown(p.close)
  const app = await resourceApp({ issuers: [{ issuer: p.issuer }] })
  t.teardown(() => app.close())
  await app.ready()
  t.match(app.gatekeeper.resourceServer.issuers(), [{ issuer: p.issuer, discovered: true, kids: ['k1'], keyFetches: 1 }])
})
