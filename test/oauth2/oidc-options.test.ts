import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { StateSealer } from '../../lib/oauth2/state.js'
import { memoryStore } from '../../lib/stores/memory.js'

const good = { issuer: 'https://sso.example', clientId: 'app', clientSecret: 'secret' }
const base = { providers: { corp: good }, redirectBase: 'https://app.example', stateSecret: 's'.repeat(32) }

t.test('OpenID Connect options are checked at registration with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [{ redirectBase: 'https://app.example' }, /redirectBase needs providers/],
    [{ ...base, providers: {} }, /providers must be an object/],
    [{ ...base, redirectBase: undefined }, /redirectBase must be an absolute URL/],
    [{ ...base, redirectBase: 'http://app.example' }, /must use https/],
    [{ ...base, redirectBase: 'https://app.example/path' }, /an origin/],
    [{ ...base, redirectBase: 'https://app.example/?a=1' }, /no query/],
    [{ ...base, stateSecret: undefined }, /stateSecret is required/],
    [{ ...base, stateSecret: 'short' }, /at least 32 bytes/],
    [{ ...base, stateTtl: '2h' }, /stateTtl must be between 1m and 30m/],
    [{ ...base, providers: { Corp: good } }, /provider name 'Corp'/],
    [{ ...base, providers: { corp: null } }, /providers.corp must be/],
    [{ ...base, providers: { corp: { ...good, secret: 'x' } } }, /providers.corp.secret/],
    [{ ...base, providers: { corp: { ...good, issuer: 'http://sso.example' } } }, /issuer must use https/],
    [{ ...base, providers: { corp: { ...good, clientId: '' } } }, /clientId/],
    [{ ...base, providers: { corp: { ...good, clientSecret: 1 } } }, /clientSecret/],
    [{ ...base, providers: { corp: { ...good, scopes: ['email'] } } }, /including 'openid'/],
    [{ ...base, identities: { find () {} } }, /no 'identities' option/],
    [{ ...base, allowSignup: 'yes' }, /allowSignup must be a boolean/],
    [{ ...base, linkVerifiedEmail: 1 }, /linkVerifiedEmail must be a boolean/],
    [{ ...base, signupRoles: 'user' }, /signupRoles/]
  ]
  for (const [opts, message] of rows) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'i', audience: 'a' })
    app.register(oauth2, opts as never)
    await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message }, JSON.stringify(opts).slice(0, 80))
    await app.close()
  }
})

t.test('valid options register the login routes; http is accepted for a loopback issuer', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'i', audience: 'a' })
  await app.register(oauth2, { ...base, providers: { corp: good, dev: { issuer: 'http://localhost:9', clientId: 'app' } }, stateTtl: '5m' })
  await app.ready()
  const urls = app.gatekeeper.routes().map((r) => `${r.method} ${r.url}`)
  t.ok(urls.includes('GET /api/oauth/:provider/start'))
  t.ok(urls.includes('GET /api/oauth/:provider/callback'))
})

t.test('the state sealer refuses what it did not seal, for this provider, in time', async (t) => {
  const sealer = new StateSealer(Buffer.alloc(32, 1))
  const state = { state: 's', nonce: 'n', verifier: 'v', link: null, expiresAt: 1000 }
  const sealed = sealer.seal('corp', state)
  t.same(sealer.open('corp', sealed, 999), state)
  t.equal(sealer.open('corp', sealed, 1000), null, 'expired at expiresAt')
  t.equal(sealer.open('other', sealed, 0), null, 'another provider')
  t.equal(new StateSealer(Buffer.alloc(32, 2)).open('corp', sealed, 0), null, 'another key')
  for (const bad of [undefined, '', 'abc', 'x'.repeat(3000), Buffer.alloc(40).toString('base64url')]) {
    t.equal(sealer.open('corp', bad, 0), null, String(bad).slice(0, 10))
  }
})

t.test('without openid-client installed, configuring providers fails at start-up saying what to install', async (t) => {
  const { loadOpenIdClient } = await import('../../lib/oauth2/oidc-routes.js')
  await t.rejects(loadOpenIdClient(async () => { throw new Error("Cannot find package 'openid-client'") }), { code: 'GK_CONFIG', message: /npm install openid-client/ })
  t.type((await loadOpenIdClient()).discovery, 'function')
})
