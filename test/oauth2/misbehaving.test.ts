import Fastify, { type FastifyInstance } from 'fastify'
import { OAuth2Issuer, OAuth2Server, type MutableResponse, type MutableToken } from 'oauth2-mock-server'
import t, { type Test } from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { APP_BASE } from './provider.js'

/**
 * The OpenID Connect login against a provider that misbehaves: every row but
 * the first bends one answer of an otherwise working provider
 * (oauth2-mock-server, whose authorize endpoint redirects at once), and the
 * login must fail with a GK_ code, create no user and leave an audit event.
 */

/** The provider name in the app's routes; a user created without a verified email is named `<provider>:<sub>`. */
const NAME = 'mock'
/** The `sub` the mock gives every login. */
const SUB = 'johndoe'
const SIGNUP_NAME = `${NAME}:${SUB}`
/**
 * The mock puts the client id of the Basic credentials in `aud` without
 * form-decoding it, while openid-client form-encodes it (RFC 6749 §2.3.1):
 * letters and digits only, so both spell it alike.
 */
const CLIENT_ID = 'gkmockclient'
const CLIENT_SECRET = 'gkmocksecret0123456789'

type Inject = Awaited<ReturnType<FastifyInstance['inject']>>

interface Harness {
  app: FastifyInstance
  mock: OAuth2Server
  events: AuditEvent[]
  /** The kid of the mock's signing key (the only key in its JWKS). */
  kid: string
  /** Set by the hooks below when they bent an answer: proves each row's misbehaviour happened. */
  bent: boolean
}

async function harness (t: Test): Promise<Harness> {
  const mock = new OAuth2Server()
  const { kid } = await mock.issuer.keys.generate('RS256')
  await mock.start(0, '127.0.0.1')
  // The mock names itself `localhost`; pin the address it listens on instead.
  mock.issuer.url = `http://127.0.0.1:${mock.address().port}`
  const events: AuditEvent[] = []
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false, onEvent: (e) => { events.push(e) } } })
  await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'api.test', audience: 'api' })
  await app.register(oauth2, {
    providers: { [NAME]: { issuer: mock.issuer.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } },
    redirectBase: APP_BASE,
    stateSecret: 's'.repeat(32),
    allowSignup: true
  })
  app.get('/me', async (req) => req.auth)
  t.teardown(async () => {
    await app.close()
    await mock.stop()
  })
  return { app, mock, events, kid, bent: false }
}

/**
 * Starts a login at the app, plays the browser at the mock's authorize
 * endpoint and brings its redirect back to the app's callback. `beforeToken`
 * runs once the nonce the app sent is known, before the code is redeemed.
 */
async function login (h: Harness, beforeToken: (nonce: string) => void | Promise<void> = () => {}): Promise<Inject> {
  const start = await h.app.inject({ url: `/api/oauth/${NAME}/start` })
  if (start.statusCode !== 302) throw new Error(`start: ${start.statusCode} ${start.body}`)
  const cookie = (start.headers['set-cookie'] as string).split(';')[0] as string
  const authUrl = new URL(start.headers.location as string)
  if (authUrl.origin !== h.mock.issuer.url) throw new Error(`start redirected to ${authUrl.href}`)
  const res = await fetch(authUrl, { redirect: 'manual' })
  if (res.status !== 302) throw new Error(`authorize: ${res.status} ${await res.text()}`)
  const back = new URL(res.headers.get('location') as string)
  if (back.origin + back.pathname !== `${APP_BASE}/api/oauth/${NAME}/callback`) throw new Error(`authorize redirected to ${back.href}`)
  await beforeToken(authUrl.searchParams.get('nonce') as string)
  return await h.app.inject({ url: `/api/oauth/${NAME}/callback${back.search}`, headers: { cookie } })
}

/** Bends the next ID token before the mock signs it (the access token, signed first, is left alone). */
function onIdToken (h: Harness, bend: (token: MutableToken) => void): void {
  const listener = (token: MutableToken): void => {
    if (!('aud' in token.payload)) return
    h.mock.service.off('beforeTokenSigning', listener)
    bend(token)
    h.bent = true
  }
  h.mock.service.on('beforeTokenSigning', listener)
}

/** Bends the next token endpoint response. */
function onTokenResponse (h: Harness, bend: (res: MutableResponse & { body: Record<string, unknown> }) => void): void {
  h.mock.service.once('beforeResponse', (res: MutableResponse) => {
    bend(res as MutableResponse & { body: Record<string, unknown> })
    h.bent = true
  })
}

function b64url (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function jwtPayload (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
}

/** The refusal every failure row expects: the status and code, no token, no user, one `oauth.login_failed` event. */
async function refused (t: Test, h: Harness, res: Inject, status: number, code: string): Promise<void> {
  t.ok(h.bent, 'the provider misbehaved as arranged')
  t.equal(res.statusCode, status, `status (${res.body})`)
  const body = res.json()
  t.equal(body.code, code)
  t.notOk('accessToken' in body, 'no access token')
  t.equal(await h.app.gatekeeper.store.users.findByLogin(SIGNUP_NAME), null, 'no user was created')
  const failed = h.events.filter((e) => e.type === 'oauth.login_failed')
  t.equal(failed.length, 1, 'the failure is audited once')
  t.match(failed[0], { outcome: 'failure', reason: code, provider: NAME })
  t.equal(h.events.filter((e) => e.type === 'login.success' || e.type === 'oauth.identity_linked').length, 0, 'no login, no linked identity')
}

t.test('control: the mock behaving logs in and signs up a user (the harness works)', async (t) => {
  const h = await harness(t)
  const res = await login(h)
  t.equal(res.statusCode, 200, res.body)
  t.type(res.json().accessToken, 'string')
  const user = await h.app.gatekeeper.store.users.findByLogin(SIGNUP_NAME)
  t.ok(user, 'the user is named after the provider and sub, the name the failure rows look for')
  const me = await h.app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().accessToken}` } })
  t.equal(me.json().subject, user?.id, 'the token is the new user\'s')
  const logins = h.events.filter((e) => e.type === 'login.success')
  t.equal(logins.length, 1)
  t.match(logins[0], { outcome: 'success', created: true })
  t.match(h.events.filter((e) => e.type === 'oauth.identity_linked'), [{ userId: user?.id, provider: NAME }])
  t.equal(h.events.filter((e) => e.type === 'oauth.login_failed').length, 0)
})

t.test('an ID token signed with a key that is not in the provider\'s JWKS (under its kid) is refused', async (t) => {
  const h = await harness(t)
  const rogue = new OAuth2Issuer()
  rogue.url = h.mock.issuer.url
  await rogue.keys.generate('RS256', { kid: h.kid })
  const res = await login(h, async (nonce) => {
    // The same claims the mock would sign, signed by another key that claims the mock's kid.
    const forged = await rogue.buildToken({ scopesOrTransform: (_header, payload) => { Object.assign(payload, { sub: SUB, aud: CLIENT_ID, nonce }) } })
    onTokenResponse(h, (r) => { r.body.id_token = forged })
  })
  await refused(t, h, res, 401, 'GK_INVALID_GRANT')
})

t.test('an ID token whose signature bytes were altered is refused', async (t) => {
  const h = await harness(t)
  onTokenResponse(h, (r) => {
    const [head, payload, sig] = (r.body.id_token as string).split('.') as [string, string, string]
    const i = Math.floor(sig.length / 2)
    r.body.id_token = `${head}.${payload}.${sig.slice(0, i)}${sig[i] === 'A' ? 'B' : 'A'}${sig.slice(i + 1)}`
  })
  await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
})

t.test('an unsigned ID token (alg none) is refused', async (t) => {
  const h = await harness(t)
  onTokenResponse(h, (r) => {
    r.body.id_token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(jwtPayload(r.body.id_token as string))}.`
  })
  await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
})

// ID tokens the provider signs correctly but bends one claim of: each is refused by openid-client's validation.
const BENT_ID_TOKENS: Array<[name: string, bend: (token: MutableToken) => void]> = [
  ['whose nonce is not the one sent', (token) => { token.payload.nonce = 'another-login-nonce' }],
  ['without a nonce', (token) => { delete token.payload.nonce }],
  ['for another client (aud)', (token) => { token.payload.aud = 'another-client' }],
  ['from another issuer (iss)', (token) => { token.payload.iss = 'https://evil.example' }],
  ['that expired (exp in the past)', (token) => {
    const now = Math.floor(Date.now() / 1000)
    Object.assign(token.payload, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 })
  }]
]
for (const [name, bend] of BENT_ID_TOKENS) {
  t.test(`an ID token ${name} is refused`, async (t) => {
    const h = await harness(t)
    onIdToken(h, bend)
    await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
  })
}

t.test('a token response without an ID token is refused', async (t) => {
  const h = await harness(t)
  onTokenResponse(h, (r) => { delete r.body.id_token })
  await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
})

t.test('the token endpoint answering an OAuth error (400 invalid_grant) is an invalid grant', async (t) => {
  const h = await harness(t)
  onTokenResponse(h, (r) => {
    r.statusCode = 400
    r.body = { error: 'invalid_grant', error_description: 'code expired' }
  })
  await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
})

t.test('the token endpoint failing (500) is 503 GK_PROVIDER_UNAVAILABLE', async (t) => {
  const h = await harness(t)
  onTokenResponse(h, (r) => {
    r.statusCode = 500
    r.body = { error: 'server_error' }
  })
  await refused(t, h, await login(h), 503, 'GK_PROVIDER_UNAVAILABLE')
})

t.test('an error redirect from the authorize endpoint (access_denied, no code) is refused', async (t) => {
  const h = await harness(t)
  h.mock.service.once('beforeAuthorizeRedirect', ({ url }: { url: URL }) => {
    url.searchParams.delete('code')
    url.searchParams.set('error', 'access_denied')
    url.searchParams.set('error_description', 'the user said no')
    h.bent = true
  })
  await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
})

t.test('UserInfo naming another sub than the ID token is refused (the ID token has no email, so UserInfo is asked)', async (t) => {
  const h = await harness(t)
  h.mock.service.once('beforeUserinfo', (r: MutableResponse) => {
    r.body = { sub: 'someone-else', email: 'victim@example.com', email_verified: true }
    h.bent = true
  })
  await refused(t, h, await login(h), 401, 'GK_INVALID_GRANT')
  t.equal(await h.app.gatekeeper.store.users.findByLogin('victim@example.com'), null, 'not under the other sub\'s email either')
})

t.test('UserInfo failing (500) is 503 GK_PROVIDER_UNAVAILABLE', async (t) => {
  const h = await harness(t)
  h.mock.service.once('beforeUserinfo', (r: MutableResponse) => {
    r.statusCode = 500
    r.body = { error: 'server_error' }
    h.bent = true
  })
  await refused(t, h, await login(h), 503, 'GK_PROVIDER_UNAVAILABLE')
})

t.test('an ID token whose sub is not 1-255 printable ASCII characters is refused before any lookup (OIDC Core §2)', async (t) => {
  for (const sub of ['x'.repeat(256), 'nul\u0000byte', '']) {
    const h = await harness(t)
    onIdToken(h, (token) => { token.payload.sub = sub })
    const res = await login(h)
    await refused(t, h, res, 401, 'GK_INVALID_GRANT')
    t.equal(await h.app.gatekeeper.store.users.findByLogin(`${NAME}:${sub}`), null)
  }
})
