import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { normalizeOptions } from '../../lib/resource-server/options.js'
import { resourceServer } from '../../lib/resource-server/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { startFakeIssuer } from './fake-issuer.js'

const ISS = 'https://idp.example.com'
const ok = { resource: 'https://api.example.com', issuers: [{ issuer: ISS, jwksUri: `${ISS}/jwks` }] }

// Every wrong option fails at registration with GK_CONFIG saying what to change.
const ROWS: Array<[string, unknown, RegExp]> = [
  ['no options', undefined, /resourceServer: options must be object/],
  ['no resource', { issuers: ok.issuers }, /the option 'resource' is required: it must be this API's https URL/],
  ['a resource over http', { ...ok, resource: 'http://api.example.com' }, /resource must use https/],
  ['a resource that is not a URL', { ...ok, resource: 'api' }, /resource must be an absolute https URL/],
  ['a resource with a fragment', { ...ok, resource: 'https://api.example.com/#x' }, /must not have a fragment/],
  ['a resource with a query', { ...ok, resource: 'https://api.example.com/?a=1' }, /must not have a query/],
  ['a resource with credentials', { ...ok, resource: 'https://u:p@api.example.com' }, /must not carry credentials/],
  ['no issuers', { resource: ok.resource, issuers: [] }, /issuers must be a non-empty array/],
  ['an issuer without issuer', { ...ok, issuers: [{ audience: 'x' }] }, /the option 'issuers\[0\]\.issuer' is required/],
  ['an issuer over http on a public host', { ...ok, issuers: [{ issuer: 'http://idp.example.com' }] }, /issuers\[0\]\.issuer must use https \(plain http only on a loopback host/],
  ['an unknown option', { ...ok, audience: 'x' }, /unknown option 'audience' \(allowed: resource, issuers, scopes, metadata, clockTolerance, cacheSize, jwks, fetch\)/],
  ['an unknown issuer option', { ...ok, issuers: [{ issuer: ISS, audiences: ['x'] }] }, /unknown option 'issuers\[0\]\.audiences' \(allowed: issuer, audience, preset/],
  ['an unknown preset', { ...ok, issuers: [{ issuer: ISS, preset: 'github' }] }, /issuers\[0\]\.preset must be one of auth0, keycloak, entra, cognito, okta, google, zitadel \(got 'github'\)/],
  ['an audience that is a number', { ...ok, issuers: [{ issuer: ISS, audience: 42 }] }, /issuers\[0\]\.audience must be a string or a non-empty array of strings \(got 42\)/],
  ['an empty audience list', { ...ok, issuers: [{ issuer: ISS, audience: [] }] }, /issuers\[0\]\.audience must be a string or a non-empty array/],
  ['HS256 without a secret', { ...ok, issuers: [{ issuer: ISS, algorithms: ['HS256'] }] }, /'HS256' is symmetric; it needs the issuer's shared secret/],
  ['an unknown algorithm', { ...ok, issuers: [{ issuer: ISS, algorithms: ['XS256'] }] }, /'XS256' is not supported/],
  ['RS256 with a secret', { ...ok, issuers: [{ issuer: ISS, secret: 's'.repeat(32), algorithms: ['RS256'] }] }, /'RS256' is asymmetric; with a secret only HS256/],
  ['a short secret', { ...ok, issuers: [{ issuer: ISS, secret: 'short' }] }, /issuers\[0\]\.secret must be a string of at least 32 characters/],
  ['a secret and a key URL', { ...ok, issuers: [{ issuer: ISS, secret: 's'.repeat(32), jwksUri: `${ISS}/jwks` }] }, /has both secret and jwksUri/],
  ['a key URL over http', { ...ok, issuers: [{ issuer: ISS, jwksUri: 'http://idp.example.com/jwks' }] }, /issuers\[0\]\.jwksUri must use https/],
  ['the same issuer twice', { ...ok, issuers: [{ issuer: ISS }, { issuer: ISS }] }, /the issuer 'https:\/\/idp\.example\.com' is listed twice/],
  ['two issuers of one name', { ...ok, issuers: [{ issuer: ISS, name: 'a' }, { issuer: 'https://b.example.com', name: 'a' }] }, /two issuers are named 'a'/],
  ['a bad name', { ...ok, issuers: [{ issuer: ISS, name: 'a b' }] }, /issuers\[0\]\.name must be 1-64 letters/],
  ['two issuers introspecting', {
    ...ok,
    issuers: [{ issuer: ISS, introspection: { clientId: 'a', clientSecret: 'b' } }, { issuer: 'https://b.example.com', introspection: { clientId: 'a', clientSecret: 'b' } }]
  }, /at most one issuer may introspect opaque tokens/],
  ['introspection without a secret', { ...ok, issuers: [{ issuer: ISS, introspection: { clientId: 'a' } }] }, /the option 'issuers\[0\]\.introspection\.clientSecret' is required/],
  ['an introspection cache over its bound', { ...ok, issuers: [{ issuer: ISS, introspection: { clientId: 'a', clientSecret: 'b', cacheTtl: '1h' } }] }, /introspection\.cacheTtl must be between 0ms and 5m/],
  ['an unknown client authentication', { ...ok, issuers: [{ issuer: ISS, introspection: { clientId: 'a', clientSecret: 'b', auth: 'private_key_jwt' } }] }, /auth must be 'client_secret_basic' or 'client_secret_post'/],
  ['a claims option that is not a function', { ...ok, issuers: [{ issuer: ISS, claims: 'roles' }] }, /issuers\[0\]\.claims must be a function \(claims, mapped\)/],
  ['userScopes of another value', { ...ok, issuers: [{ issuer: ISS, userScopes: 'maybe' }] }, /userScopes must be 'restrict' or 'ignore'/],
  ['a duration that is not one', { ...ok, jwks: { cooldown: 'soon' } }, /jwks\.cooldown must be a duration such as '15m'/],
  ['a cooldown below its bound', { ...ok, jwks: { cooldown: '10ms' } }, /jwks\.cooldown must be between 1s and 1h/],
  ['minAge above maxAge', { ...ok, jwks: { minAge: '2h', maxAge: '1h' } }, /jwks\.minAge must not exceed jwks\.maxAge/],
  ['a key size bound too small', { ...ok, jwks: { maxBytes: 10 } }, /jwks\.maxBytes must be an integer from 1024 to 1048576/],
  ['a clock tolerance over its bound', { ...ok, clockTolerance: '10m' }, /clockTolerance must be between 0ms and 2m/],
  ['a negative cache size', { ...ok, cacheSize: -1 }, /cacheSize must be an integer from 0 to 1000000 \(got -1\)/],
  ['metadata: true', { ...ok, metadata: true }, /metadata must be false or \{ resourceName\?, documentation\? \}/],
  ['a fetch that is not a function', { ...ok, fetch: 'curl' }, /fetch must be a fetch-compatible function/],
  ['scopes that are not strings', { ...ok, scopes: [1] }, /scopes\[0\] must be a non-empty string/]
]

for (const [name, options, message] of ROWS) {
  t.test(`${name}: GK_CONFIG`, async (t) => {
    t.throws(() => normalizeOptions(options), { code: 'GK_CONFIG', message })
  })
}

t.test('defaults are applied in one place', async (t) => {
  const o = normalizeOptions(ok)
  t.equal(o.resourceId, 'https://api.example.com')
  t.same(o.issuers[0]?.audiences, ['https://api.example.com'], 'the audience defaults to the resource')
  t.equal(o.issuers[0]?.requireTyp, true, 'RFC 9068 typ required without a preset')
  t.equal(o.issuers[0]?.discover, false, 'a given key URL needs no discovery')
  t.equal(o.issuers[0]?.userScopes, 'restrict')
  t.equal(o.issuers[0]?.name, 'issuer1')
  t.same(o.issuers[0]?.algorithms.includes('HS256'), false, 'asymmetric algorithms only')
  t.match(o.jwks, { cooldownMs: 30_000, timeoutMs: 5000, maxBytes: 65_536, minAgeMs: 60_000, maxAgeMs: 86_400_000, defaultAgeMs: 600_000, maxStaleMs: 43_200_000 })
  t.equal(o.toleranceMs, 5000)
  t.equal(o.cacheSize, 10_000)
  const preset = normalizeOptions({ ...ok, issuers: [{ issuer: 'https://tenant.eu.auth0.com/', preset: 'auth0' }] })
  t.equal(preset.issuers[0]?.requireTyp, false, 'the Auth0 preset relaxes typ')
  t.equal(preset.issuers[0]?.name, 'auth0')
  t.equal(preset.issuers[0]?.discover, true)
  const introspecting = normalizeOptions({ ...ok, issuers: [{ issuer: ISS, jwksUri: `${ISS}/jwks`, introspection: { clientId: 'a', clientSecret: 'b' } }] })
  t.equal(introspecting.issuers[0]?.discover, true, 'introspection without an endpoint needs the metadata')
  t.match(introspecting.issuers[0]?.introspection, { auth: 'client_secret_basic', cacheTtlMs: 30_000, inactiveTtlMs: 5000, maxConcurrent: 32 })
})

t.test('the plugin refuses a second registration, and the service read before registration names the fix', async (t) => {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  t.throws(() => app.gatekeeper.resourceServer, { code: 'GK_CONFIG', message: /app\.gatekeeper\.resourceServer was read before the resourceServer plugin was registered: register it \(after gatekeeper\) first/ })
  await app.register(resourceServer, { ...ok, jwks: { timeout: '200ms' } })
  t.equal(app.gatekeeper.resourceServer.resource, 'https://api.example.com')
  await t.rejects(async () => { await app.register(resourceServer, ok) }, { code: 'GK_CONFIG', message: /already registered/ })
  await app.close()
})

t.test('metadata naming another issuer fails the start-up: tokens carry the issuer, so it must be written exactly', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  fake.metadata = { issuer: `${fake.issuer}/` }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  await t.rejects(async () => { await app.register(resourceServer, { resource: 'https://api.test', issuers: [{ issuer: fake.issuer }] }) }, { code: 'GK_CONFIG', message: /names its issuer '.+\/', not '.+'; configure exactly that/ })
  await app.close()
})

t.test('an unreachable provider at start-up is not fatal: its tokens are answered 503 until it answers', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(resourceServer, { resource: 'https://api.test', issuers: [{ issuer: 'http://127.0.0.1:9' }], jwks: { timeout: '500ms' } })
  app.get('/x', { config: { auth: 'resourceServer' } }, async () => 'x')
  t.teardown(() => app.close())
  const token = `${Buffer.from('{"alg":"ES256","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"iss":"http://127.0.0.1:9"}').toString('base64url')}.c2ln`
  const res = await app.inject({ url: '/x', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GK_PROVIDER_UNAVAILABLE')
  t.match(app.gatekeeper.resourceServer.issuers(), [{ issuer: 'http://127.0.0.1:9', discovered: false, kids: [] }])
})
