import swagger from '@fastify/swagger'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { apiKey } from '../../lib/api-key/plugin.js'
import { gatekeeperOpenApi } from '../../lib/core/openapi.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/plugin.js'
import { rateLimitKey } from '../../lib/protection/rate-limit.js'
import { rbac } from '../../lib/rbac/plugin.js'
import { resourceServer } from '../../lib/resource-server/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { versioning } from '../../lib/versioning/plugin.js'
import { claims, startFakeIssuer, type FakeIssuer } from './fake-issuer.js'
import { bearer, resourceApp } from './helpers.js'
import { RESOURCE } from './provider.js'

// The rest of the library works for callers of the resourceServer strategy:
// rbac with ':own', anyOf, versioning, rate limits, audit, OpenAPI, and the
// other strategies on the same routes.

async function issuer (t: Test): Promise<FakeIssuer> {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  return fake
}

t.test('rbac: roles from the token grant permissions, and \':own\' grants hold on the caller\'s own resources only', async (t) => {
  const fake = await issuer(t)
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }] })
  await app.register(rbac, { roles: { author: { permissions: ['posts:read', 'posts:update:own'] } } })
  const owners: Record<string, string> = { 1: 'alice', 2: 'bob' }
  app.put('/posts/:id', { config: { auth: { strategies: 'resourceServer', permissions: ['posts:update'], owner: (r) => owners[(r.params as { id: string }).id] } } }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  const alice = await fake.sign(claims(fake, RESOURCE, { sub: 'alice', roles: ['author'], scope: 'posts:read posts:update' }))
  t.equal((await app.inject({ method: 'PUT', url: '/posts/1', headers: bearer(alice) })).statusCode, 200, 'her own post')
  const other = await app.inject({ method: 'PUT', url: '/posts/2', headers: bearer(alice) })
  t.equal(other.statusCode, 403, 'another user\'s post')
  t.match(other.headers['www-authenticate'], /error="insufficient_scope", resource_metadata="[^"]+"/)
  t.equal((await app.inject({ url: '/posts', headers: bearer(alice) })).statusCode, 200, 'posts:read by permission')
  const narrow = await fake.sign(claims(fake, RESOURCE, { sub: 'alice', roles: ['author'], scope: 'posts:read' }))
  t.equal((await app.inject({ method: 'PUT', url: '/posts/1', headers: bearer(narrow) })).statusCode, 403, 'a token without the posts:update scope cannot use the role\'s grant')
})

t.test('versioning: a version\'s default strategies and its deprecation headers apply to these callers', async (t) => {
  const fake = await issuer(t)
  const events: AuditEvent[] = []
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), audit: { onEvent: (e) => { events.push(e) } } })
  await app.register(resourceServer, { resource: RESOURCE, issuers: [{ issuer: fake.issuer }] })
  await app.register(versioning, { prefix: '/api', versions: { v1: { deprecated: '2026-01-01', sunset: '2099-01-01', successor: 'v2', auth: ['resourceServer'] }, v2: { auth: ['resourceServer'] } } })
  await app.gatekeeper.version('v1', async (v1) => { v1.get('/items', async (request) => ({ version: request.apiVersion, subject: request.auth?.subject })) })
  t.teardown(() => app.close())
  const token = await fake.sign(claims(fake, RESOURCE, { sub: 'carol' }))
  const res = await app.inject({ url: '/api/v1/items', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { version: 'v1', subject: 'carol' })
  t.ok(res.headers.deprecation)
  t.match(res.headers.link, /rel="successor-version"/)
  const anon = await app.inject('/api/v1/items')
  t.equal(anon.statusCode, 401)
  t.match(anon.headers['www-authenticate'], /resource_metadata=/)
  t.match(events.find((e) => e.type === 'version.deprecated_call'), { subject: 'carol', issuer: fake.issuer, clientId: 'web' })
})

t.test('rate limits count each caller by issuer and subject: the same subject at two issuers has two budgets', async (t) => {
  const a = await issuer(t)
  const b = await issuer(t)
  const app = await resourceApp({ issuers: [{ issuer: a.issuer }, { issuer: b.issuer, name: 'second' }] }, { rateLimit: { max: 2, timeWindow: 60_000 } })
  t.teardown(() => app.close())
  const ofA = await a.sign(claims(a, RESOURCE, { sub: 'same-id' }))
  const ofB = await b.sign(claims(b, RESOURCE, { sub: 'same-id' }))
  t.equal((await app.inject({ url: '/me', headers: bearer(ofA) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(ofA) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(ofA) })).statusCode, 429, 'issuer A\'s same-id is over its budget')
  t.equal((await app.inject({ url: '/me', headers: bearer(ofB) })).statusCode, 200, 'issuer B\'s same-id has its own')
  const another = await a.sign(claims(a, RESOURCE, { sub: 'same-id', jti: 'another-token' }))
  t.equal((await app.inject({ url: '/me', headers: bearer(another) })).statusCode, 429, 'a second token of the same caller shares the budget')
  t.equal(rateLimitKey({ auth: { subject: 'x', issuer: 'https://i' }, ip: '1.2.3.4' } as never), 'iss:["https://i","x"]')
  t.equal(rateLimitKey({ auth: { subject: 'x' }, ip: '1.2.3.4' } as never), 'sub:x', 'local callers keep their key')
})

t.test('audit: a refusal names the issuer and the client of the caller', async (t) => {
  const fake = await issuer(t)
  const events: AuditEvent[] = []
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }] }, { audit: { onEvent: (e) => { events.push(e) } } })
  t.teardown(() => app.close())
  const token = await fake.sign(claims(fake, RESOURCE, { sub: 'svc', client_id: 'reports-bot', scope: 'other' }))
  t.equal((await app.inject({ url: '/tools', headers: bearer(token) })).statusCode, 403)
  t.match(events.find((e) => e.type === 'access.denied'), { outcome: 'failure', reason: 'GK_FORBIDDEN', subject: 'svc', issuer: fake.issuer, clientId: 'reports-bot', route: 'GET /tools', missingScopes: ['tools:read'] })
  t.match(events.find((e) => e.type === 'resource.keys_changed'), { issuer: fake.issuer, keys: 1, added: ['k1'], removed: [] })
  for (const e of events) t.notOk(JSON.stringify(e).includes(token), 'no event carries the token')
})

t.test('OpenAPI: each issuer is a security scheme with its own URLs, and routes name it', async (t) => {
  const fake = await issuer(t)
  const keycloakLike = await startFakeIssuer({ path: '/realms/acme' })
  t.teardown(keycloakLike.close)
  keycloakLike.metadata = { token_endpoint: undefined }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(resourceServer, { resource: RESOURCE, scopes: ['tools:read'], issuers: [{ issuer: fake.issuer, name: 'corp' }, { issuer: keycloakLike.issuer, name: 'partners' }] })
  await app.register(swagger, gatekeeperOpenApi(app, { openapi: { info: { title: 'mcp', version: '1' } } }))
  app.get('/tools', { config: { auth: { strategies: 'resourceServer', scopes: ['tools:read'] } } }, async () => [])
  t.teardown(() => app.close())
  await app.ready()
  const doc = app.swagger() as { components: { securitySchemes: Record<string, unknown> }, paths: Record<string, Record<string, { security?: unknown }>> }
  t.same(doc.components.securitySchemes.corp, {
    type: 'oauth2',
    description: `Access tokens of ${fake.issuer}`,
    flows: {
      authorizationCode: { authorizationUrl: `${fake.issuer}/authorize`, tokenUrl: `${fake.issuer}/token`, scopes: { 'tools:read': 'tools:read' } },
      clientCredentials: { tokenUrl: `${fake.issuer}/token`, scopes: { 'tools:read': 'tools:read' } }
    }
  })
  t.same(doc.components.securitySchemes.partners, { type: 'openIdConnect', description: `Access tokens of ${keycloakLike.issuer}`, openIdConnectUrl: `${keycloakLike.issuer}/.well-known/openid-configuration` })
  // OpenAPI 3.0 §4.8.30: OAuth 2.0 and OpenID Connect requirements list the scopes the route needs.
  t.same(doc.paths['/tools']?.get?.security, [{ corp: ['tools:read'] }, { partners: ['tools:read'] }])
})

t.test('beside the jwt and apiKey plugins: each credential goes to its strategy, and an API key is never sent to the provider', async (t) => {
  const fake = await issuer(t)
  let introspected = 0
  fake.introspection = () => { introspected++; return { status: 200, body: { active: false } } }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  // The resource server first: it sees every Bearer credential before the others.
  await app.register(resourceServer, { resource: RESOURCE, issuers: [{ issuer: fake.issuer, introspection: { clientId: 'api', clientSecret: 'api-secret' } }] })
  await app.register(jwt, { secret: 's'.repeat(32), issuer: 'https://api.test', audience: 'api' })
  await app.register(apiKey, { prefix: 'gk', routes: false })
  app.get('/who', async (request) => ({ strategy: request.auth?.strategy, subject: request.auth?.subject }))
  t.teardown(() => app.close())
  await app.ready()
  const user = await app.gatekeeper.users.create({ username: 'dora', password: 'dora-password-1234', roles: [] })
  const own = await app.gatekeeper.tokens.issue(user)
  const key = await app.gatekeeper.apiKeys.create({ ownerId: user.id, name: 'ci', scopes: [] })
  const external = await fake.sign(claims(fake, RESOURCE, { sub: 'erin' }))
  t.same((await app.inject({ url: '/who', headers: bearer(own.accessToken) })).json(), { strategy: 'jwt', subject: user.id })
  t.same((await app.inject({ url: '/who', headers: bearer(external) })).json(), { strategy: 'resourceServer', subject: 'erin' })
  t.same((await app.inject({ url: '/who', headers: bearer(key.key) })).json(), { strategy: 'apiKey', subject: user.id })
  t.equal(introspected, 0, 'the API key was not introspected')
  const opaque = await app.inject({ url: '/who', headers: bearer('o'.repeat(40)) })
  t.equal(opaque.statusCode, 401, 'an opaque token the provider calls inactive')
  t.equal(introspected, 1)
  const nobody = await issuer(t)
  const foreign = await app.inject({ url: '/who', headers: bearer(await nobody.sign({ iss: 'https://nobody.test', sub: 'x', aud: 'api', exp: 9e9 })) })
  t.equal(foreign.statusCode, 401, 'a JWT no strategy owns')
  t.equal(foreign.json().code, 'GK_TOKEN_INVALID')
})

t.test('with the jwt plugin registered first, a JWT of another issuer passes it by and reaches resourceServer', async (t) => {
  const fake = await issuer(t)
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: 's'.repeat(32), issuer: 'https://api.test', audience: 'api' })
  await app.register(resourceServer, { resource: RESOURCE, issuers: [{ issuer: fake.issuer }] })
  app.get('/who', async (request) => ({ strategy: request.auth?.strategy, subject: request.auth?.subject }))
  app.get('/jwt-only', { config: { auth: 'jwt' } }, async () => 'x')
  t.teardown(() => app.close())
  const external = await fake.sign(claims(fake, RESOURCE, { sub: 'gina' }))
  t.same((await app.inject({ url: '/who', headers: bearer(external) })).json(), { strategy: 'resourceServer', subject: 'gina' })
  const jwtOnly = await app.inject({ url: '/jwt-only', headers: bearer(external) })
  t.equal(jwtOnly.statusCode, 401, 'a route of the jwt strategy alone refuses it as before')
  t.equal(jwtOnly.json().code, 'GK_TOKEN_INVALID')
  t.equal(jwtOnly.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"', 'no resource metadata on a route the strategy does not serve')
  const user = await app.gatekeeper.users.create({ username: 'hal', password: 'hal-password-12345', roles: [] })
  const own = await app.gatekeeper.tokens.issue(user)
  t.same((await app.inject({ url: '/who', headers: bearer(own.accessToken) })).json(), { strategy: 'jwt', subject: user.id })
  const forged = `${own.accessToken.split('.').slice(0, 2).join('.')}.AAAA`
  t.equal((await app.inject({ url: '/who', headers: bearer(forged) })).statusCode, 401, 'our own issuer with a bad signature is still the jwt strategy\'s refusal')
})

t.test('the service: verify(), refreshKeys(), evict(), issuers() and the metadata routes', async (t) => {
  const fake = await issuer(t)
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }], metadata: { resourceName: 'MCP tools', documentation: 'https://docs.api.test/mcp' } })
  t.teardown(() => app.close())
  await app.ready()
  const rs = app.gatekeeper.resourceServer
  const token = await fake.sign(claims(fake, RESOURCE, { sub: 'frank' }))
  t.match(await rs.verify(token), { subject: 'frank', issuer: fake.issuer })
  await t.rejects(rs.verify('opaque-without-introspection'), { code: 'GK_TOKEN_INVALID' })
  await t.rejects(rs.verify(await fake.sign(claims(fake, 'https://other.test'))), { code: 'GK_TOKEN_INVALID' })
  const before = fake.hits.get('/jwks') ?? 0
  await rs.refreshKeys()
  await rs.refreshKeys(fake.issuer)
  t.equal((fake.hits.get('/jwks') ?? 0) - before, 2)
  await t.rejects(rs.refreshKeys('https://unknown.test'), { code: 'GK_CONFIG' })
  t.match(rs.issuers(), [{ issuer: fake.issuer, name: 'issuer1', discovered: true, kids: ['k1'], introspections: 0 }])
  rs.evict()
  rs.evict(fake.issuer)
  t.equal(rs.metadataUrl, 'https://api.test/.well-known/oauth-protected-resource/mcp')
  const expected = { resource: RESOURCE, authorization_servers: [fake.issuer], bearer_methods_supported: ['header'], scopes_supported: ['tools:read', 'tools:call', 'posts:read'], resource_name: 'MCP tools', resource_documentation: 'https://docs.api.test/mcp' }
  t.same(rs.metadata(), expected)
  for (const url of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.same(res.json(), expected)
    t.match(res.headers['content-type'], /^application\/json/)
    t.equal(res.headers['cache-control'], 'public, max-age=3600')
  }
  const off = await resourceApp({ issuers: [{ issuer: fake.issuer }], metadata: false })
  t.teardown(() => off.close())
  t.equal((await off.inject('/.well-known/oauth-protected-resource/mcp')).statusCode, 404, 'metadata: false serves no metadata route')
})
