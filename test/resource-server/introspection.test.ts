import t from 'tap'
import { startFakeIssuer } from './fake-issuer.js'
import { bearer, resourceApp } from './helpers.js'
import { RESOURCE } from './provider.js'

// Introspection against a provider under the test's control: what the answer must
// say for a token to pass, how the client authenticates, and the concurrency bound.

const TOKEN = 'opaque-token-0123456789abcdef'
const active = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ active: true, iss: undefined, aud: RESOURCE, sub: 'u1', client_id: 'web', scope: 'tools:read', exp: Math.floor(Date.now() / 1000) + 300, ...extra })

t.test('an active answer must name our audience; iss, exp and token_type are checked when present', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  let answer: Record<string, unknown> = active()
  fake.introspection = () => ({ status: 200, body: answer })
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, introspection: { clientId: 'api', clientSecret: 'api-secret', cacheTtl: 0 } }] })
  t.teardown(() => app.close())
  const rows: Array<[string, Record<string, unknown>, number]> = [
    ['a good answer', active(), 200],
    ['no audience', active({ aud: undefined }), 401],
    ['another audience', active({ aud: ['https://other.test'] }), 401],
    ['another issuer', active({ iss: 'https://evil.test' }), 401],
    ['its own issuer', active({ iss: fake.issuer }), 200],
    ['expired', active({ exp: Math.floor(Date.now() / 1000) - 60 }), 401],
    ['a refresh token', active({ token_type: 'refresh_token' }), 401],
    ['no subject, a client: an application', active({ sub: undefined }), 200]
  ]
  for (const [name, body, status] of rows) {
    answer = body
    const res = await app.inject({ url: '/me', headers: bearer(`${TOKEN}${name.length}`) })
    t.equal(res.statusCode, status, name)
  }
  answer = active({ sub: undefined })
  t.match((await app.inject({ url: '/me', headers: bearer(`${TOKEN}-app`) })).json(), { kind: 'application', subject: 'web', clientId: 'web' })
})

t.test('the client authenticates with HTTP Basic by default, or in the form body', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const seen: Array<string | undefined> = []
  fake.introspection = (_token, authorization) => { seen.push(authorization); return { status: 200, body: active() } }
  for (const auth of ['client_secret_basic', 'client_secret_post'] as const) {
    const app = await resourceApp({ issuers: [{ issuer: fake.issuer, introspection: { clientId: 'api', clientSecret: 'api-secret', auth } }] })
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/me', headers: bearer(`${TOKEN}${auth}`) })).statusCode, 200, auth)
  }
  // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
  const [id, secret] = Buffer.from((seen[0] ?? '').replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent)
  t.same([id, secret], ['api', 'api-secret'])
  t.equal(seen[1], undefined, 'client_secret_post sends no Authorization header')
})

t.test('past maxConcurrent introspections in flight, callers are refused 503 at once; a 5xx answer is 503', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  let calls = 0
  fake.introspection = () => { calls++; return { status: 200, body: active() } }
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, introspection: { clientId: 'api', clientSecret: 's', maxConcurrent: 2 } }] })
  t.teardown(() => app.close())
  const answers = await Promise.all(Array.from({ length: 8 }, async (_, i) => (await app.inject({ url: '/me', headers: bearer(`${TOKEN}-burst-${i}`) })).statusCode))
  t.ok(answers.filter((s) => s === 503).length >= 1, `some were refused: ${answers.join()}`)
  t.ok(answers.filter((s) => s === 200).length >= 2, 'two at a time went through')
  t.ok(calls <= 8)
  fake.introspection = () => ({ status: 500, body: { error: 'server_error' } })
  const failing = await app.inject({ url: '/me', headers: bearer(`${TOKEN}-5xx`) })
  t.equal(failing.statusCode, 503)
  t.equal(failing.headers['retry-after'], '30')
})

t.test('an introspection answer is not held to the JWT shape of a preset (Okta: scope and client_id, no scp or cid)', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  fake.introspection = () => ({ status: 200, body: { active: true, aud: RESOURCE, scope: 'tools:read', client_id: '0oa1', uid: '00u1', sub: 'alice@example.com', exp: Math.floor(Date.now() / 1000) + 60 } })
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, preset: 'okta', introspection: { clientId: 'api', clientSecret: 's' } }] })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/me', headers: bearer(TOKEN) })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { kind: 'user', subject: '00u1', clientId: '0oa1', scopes: ['tools:read'] })
})

t.test('metadata without an introspection endpoint, or with a key URL that is not one: 503', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  fake.metadata = { introspection_endpoint: undefined, jwks_uri: 'not a url' }
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, introspection: { clientId: 'api', clientSecret: 's' } }] })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/me', headers: bearer(TOKEN) })).statusCode, 503)
})
