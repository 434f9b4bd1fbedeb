import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import t, { type Test } from 'tap'
import { listen } from '../browser/chromium.js'
import { dpopApp } from './helpers.js'

/** A listening app on the real clock, without publicOrigin: htu is the request's own origin. */
async function server (t: Test, opts: Parameters<typeof dpopApp>[0] = {}): Promise<Awaited<ReturnType<typeof dpopApp>> & { base: string, id: string, secret: string }> {
  const a = await dpopApp(opts, { now: Date.now }, undefined, null)
  a.app.get('/reports', { config: { auth: { scopes: ['reports:read'], dpop: 'required' } } }, async (request) => ({ client: request.auth?.subject, jkt: request.auth?.confirmation?.jkt }))
  const port = await listen(a.app)
  t.teardown(() => a.app.close())
  const base = `http://127.0.0.1:${port}`
  const created = await a.app.gatekeeper.oauth2!.clients.create({ name: 'nightly job', scopes: ['reports:read'] })
  return { ...a, base, id: created.id, secret: created.secret }
}

t.test('oauth4webapi: a DPoP-bound client-credentials token, then DPoP calls to a route requiring it', async (t) => {
  const s = await server(t)
  const as: oauth.AuthorizationServer = { issuer: 'https://issuer.test', token_endpoint: `${s.base}/api/oauth/token` }
  const c: oauth.Client = { client_id: s.id }
  const keyPair = await oauth.generateKeyPair('ES256')
  const DPoP = oauth.DPoP(c, keyPair)
  const response = await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(s.secret), new URLSearchParams({ scope: 'reports:read' }), { DPoP, [oauth.allowInsecureRequests]: true })
  const token = await oauth.processClientCredentialsResponse(as, c, response)
  t.equal(token.token_type, 'dpop', 'token_type DPoP (oauth4webapi lower-cases it)')
  for (let i = 0; i < 2; i++) {
    const res = await oauth.protectedResourceRequest(token.access_token, 'GET', new URL(`${s.base}/reports?page=${i}`), new Headers(), null, { DPoP, [oauth.allowInsecureRequests]: true })
    t.equal(res.status, 200, `call ${i + 1}: a fresh proof each time; htu without the query`)
    t.same(await res.json(), { client: s.id, jkt: await DPoP.calculateThumbprint() })
  }
  // The same token without the key: a thief with the token alone.
  const stolen = await fetch(`${s.base}/reports`, { headers: { authorization: `DPoP ${token.access_token}` } })
  t.equal(stolen.status, 401)
  t.match(stolen.headers.get('www-authenticate'), /^DPoP realm="api", algs="ES256 EdDSA Ed25519 RS256 PS256", error="invalid_dpop_proof"$/)
  const bearer = await fetch(`${s.base}/reports`, { headers: { authorization: `Bearer ${token.access_token}` } })
  t.equal(bearer.status, 401, 'Bearer downgrade')
})

t.test('oauth4webapi: server nonces — the first request is told one (use_dpop_nonce), the retry carries it', async (t) => {
  const s = await server(t, { nonce: { secret: 'n'.repeat(32) } })
  const as: oauth.AuthorizationServer = { issuer: 'https://issuer.test', token_endpoint: `${s.base}/api/oauth/token` }
  const c: oauth.Client = { client_id: s.id }
  const DPoP = oauth.DPoP(c, await oauth.generateKeyPair('ES256'))
  const grant = async (): Promise<Response> => await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(s.secret), new URLSearchParams({ scope: 'reports:read' }), { DPoP, [oauth.allowInsecureRequests]: true })
  let token: oauth.TokenEndpointResponse
  try {
    token = await oauth.processClientCredentialsResponse(as, c, await grant())
    t.fail('the first token request has no nonce and must be refused')
    return
  } catch (err) {
    t.ok(oauth.isDPoPNonceError(err), 'use_dpop_nonce at the token endpoint (400, RFC 9449 §8)')
  }
  token = await oauth.processClientCredentialsResponse(as, c, await grant())
  t.equal(token.token_type, 'dpop')
  const res = await oauth.protectedResourceRequest(token.access_token, 'GET', new URL(`${s.base}/reports`), new Headers(), null, { DPoP, [oauth.allowInsecureRequests]: true })
  t.equal(res.status, 200, 'the nonce the handle learnt is good at the resource too')
  const noNonce = await fetch(`${s.base}/reports`, { headers: { authorization: `DPoP ${token.access_token}`, dpop: 'x.y.z' } })
  t.equal(noNonce.status, 401)
})

t.test('openid-client v6: clientCredentialsGrant and fetchProtectedResource with a DPoP handle', async (t) => {
  const s = await server(t)
  const config = new client.Configuration({ issuer: 'https://issuer.test', token_endpoint: `${s.base}/api/oauth/token` }, s.id, undefined, client.ClientSecretPost(s.secret))
  client.allowInsecureRequests(config)
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('EdDSA'))
  const token = await client.clientCredentialsGrant(config, { scope: 'reports:read' }, { DPoP })
  t.equal(token.token_type, 'dpop')
  const res = await client.fetchProtectedResource(config, token.access_token, new URL(`${s.base}/reports`), 'GET', undefined, undefined, { DPoP })
  t.equal(res.status, 200, 'an EdDSA proof')
  t.equal(((await res.json()) as { client: string }).client, s.id)
})
