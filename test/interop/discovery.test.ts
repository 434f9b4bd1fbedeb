import Fastify, { type FastifyInstance } from 'fastify'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { METADATA_PATH, buildMetadata, issuerUrl, metadataPath } from '../../lib/oauth2/metadata.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { capture, freePort } from '../helpers.js'
import { generateKeyPairSync } from 'node:crypto'

/**
 * An API on a known loopback port whose issuer is its own URL (optionally
 * with a path), with the client-credentials endpoint and a route requiring a scope.
 */
async function api (path = '', jwtOpts: Partial<JwtOptions> = {}): Promise<{ app: FastifyInstance, issuer: string, id: string, secret: string }> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}${path}`
  const app = Fastify({ forceCloseConnections: true })
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  await app.register(jwt, { keys: [{ kid: 'k1', algorithm: 'EdDSA', privateKey, publicKey }], issuer, audience: 'reports-api', ...jwtOpts } as JwtOptions)
  await app.register(oauth2)
  app.get('/reports', { config: { auth: { scopes: ['reports:read'] } } }, async (request) => ({ client: request.auth?.subject }))
  app.post('/reports', { config: { auth: { scopes: ['reports:write'] } } }, async () => ({ ok: true }))
  const created = await app.gatekeeper.oauth2!.clients.create({ name: 'nightly job', scopes: ['reports:read'] })
  await app.listen({ port, host: '127.0.0.1' })
  return { app, issuer, id: created.id, secret: created.secret }
}

t.test('openid-client configures itself from RFC 8414 discovery alone and gets a token that the API accepts', async (t) => {
  const { app, issuer, id, secret } = await api()
  t.teardown(() => app.close())
  const config = await client.discovery(new URL(issuer), id, undefined, client.ClientSecretBasic(secret), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests] // plain http on loopback, for the test only
  })
  const meta = config.serverMetadata()
  t.equal(meta.issuer, issuer)
  t.equal(meta.token_endpoint, `${issuer}/api/oauth/token`)
  t.equal(meta.jwks_uri, `${issuer}/.well-known/jwks.json`)
  t.same(meta.grant_types_supported, ['client_credentials'])
  t.same(meta.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post'])
  t.same(meta.scopes_supported, ['reports:read', 'reports:write'], 'the scopes the routes require')
  const token = await client.clientCredentialsGrant(config, { scope: 'reports:read' })
  t.equal(token.token_type, 'bearer')
  t.equal(token.scope, 'reports:read')
  const res = await fetch(`${issuer}/reports`, { headers: { authorization: `Bearer ${token.access_token}` } })
  t.equal(res.status, 200, 'the token opens the route')
  t.same(await res.json(), { client: id })
})

t.test('oauth4webapi discovers the metadata, authenticates with client_secret_post and gets a token', async (t) => {
  const { app, issuer, id, secret } = await api()
  t.teardown(() => app.close())
  const url = new URL(issuer)
  const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }))
  const res = await oauth.clientCredentialsGrantRequest(as, { client_id: id }, oauth.ClientSecretPost(secret), new URLSearchParams({ scope: 'reports:read' }), { [oauth.allowInsecureRequests]: true })
  const token = await oauth.processClientCredentialsResponse(as, { client_id: id }, res)
  t.equal(token.scope, 'reports:read')
  t.equal((await fetch(`${issuer}/reports`, { headers: { authorization: `Bearer ${token.access_token}` } })).status, 200)
  const cached = await fetch(`${issuer}${METADATA_PATH}`)
  t.equal(cached.headers.get('content-type'), 'application/json; charset=utf-8')
  t.equal(cached.headers.get('cache-control'), 'public, max-age=300')
})

t.test('an issuer with a path is discovered at the well-known path followed by the issuer path (RFC 8414 §3.1)', async (t) => {
  const { app, issuer, id, secret } = await api('/tenant-a')
  t.teardown(() => app.close())
  const config = await client.discovery(new URL(issuer), id, undefined, client.ClientSecretBasic(secret), { algorithm: 'oauth2', execute: [client.allowInsecureRequests] })
  t.equal(config.serverMetadata().issuer, issuer)
  t.equal(config.serverMetadata().token_endpoint, `${new URL(issuer).origin}/api/oauth/token`, 'the endpoint is where the route is')
  t.equal((await client.clientCredentialsGrant(config)).scope, 'reports:read')
})

t.test('no metadata (and a warning saying what to change) when the issuer is not an https URL', async (t) => {
  const { stream, lines } = capture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  await app.register(jwt, { secret: 's'.repeat(32), issuer: 'reports-api', audience: 'api' })
  await app.register(oauth2)
  await app.ready()
  t.teardown(() => app.close())
  t.equal((await app.inject(METADATA_PATH)).statusCode, 404, 'no such route')
  t.ok(lines.some((l) => l.includes('not an https URL') && l.includes("'https://api.example'")), 'the warning says what to change')
})

t.test('issuer identifiers and metadata documents', async (t) => {
  for (const ok of ['https://api.example', 'https://api.example/tenant', 'http://localhost:3000', 'http://127.0.0.1:8080/x', 'http://[::1]:1']) t.ok(issuerUrl(ok), ok)
  for (const bad of ['api.example', 'http://api.example', 'https://api.example/?a=1', 'https://api.example/#f', 'https://u:p@api.example', 'https://api.example?', 'ftp://api.example']) t.equal(issuerUrl(bad), null, bad)
  t.equal(metadataPath(new URL('https://api.example/')), METADATA_PATH)
  t.equal(metadataPath(new URL('https://api.example/a/b/')), `${METADATA_PATH}/a/b`)
  const doc = buildMetadata({ issuer: 'https://api.example', tokenPath: '/api/oauth/token', jwksPath: null, scopes: ['b', 'a', 'b'] }, new URL('https://api.example'))
  t.same(doc, {
    issuer: 'https://api.example',
    token_endpoint: 'https://api.example/api/oauth/token',
    scopes_supported: ['a', 'b'],
    response_types_supported: [],
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post']
  }, 'no jwks_uri with a secret')
})
