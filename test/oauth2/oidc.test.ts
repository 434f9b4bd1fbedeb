import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { oauth2, type OAuth2Options } from '../../lib/oauth2/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { refresh } from '../../lib/refresh/index.js'
import { freePort } from '../helpers.js'
import { APP_BASE, authorize, CLIENT_ID, CLIENT_SECRET, PUBLIC_CLIENT_ID, startFailingProvider, startProvider } from './provider.js'

const provider = await startProvider(['test', 'other'])
t.teardown(provider.close)

interface Harness { app: FastifyInstance, events: AuditEvent[], clock: { offset: number } }

async function rpApp (opts: Partial<OAuth2Options> = {}, issuer = provider.issuer, withRefresh = false, store: GatekeeperStore = memoryStore()): Promise<Harness> {
  const events: AuditEvent[] = []
  const clock = { offset: 0 }
  const app = Fastify()
  await app.register(gatekeeper, { store, now: () => Date.now() + clock.offset, audit: { log: false, onEvent: (e) => { events.push(e) } } })
  await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'api.test', audience: 'api' })
  if (withRefresh) await app.register(refresh, { transport: 'body' })
  const p = { issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }
  await app.register(oauth2, { providers: { test: p, other: p, pub: { issuer, clientId: PUBLIC_CLIENT_ID } }, redirectBase: APP_BASE, stateSecret: 's'.repeat(32), ...opts })
  app.get('/me', async (req) => req.auth)
  return { app, events, clock }
}

/** Starts a login; returns the provider URL and the state cookie (`name=value`). */
async function start (app: FastifyInstance, providerName = 'test', headers: Record<string, string> = {}): Promise<{ location: string, cookie: string, setCookie: string }> {
  const res = await app.inject({ url: `/api/oauth/${providerName}/start`, headers })
  if (res.statusCode !== 302) throw new Error(`start: ${res.statusCode} ${res.body}`)
  const setCookie = res.headers['set-cookie'] as string
  return { location: res.headers.location as string, cookie: setCookie.split(';')[0] as string, setCookie }
}

async function callback (app: FastifyInstance, url: URL, cookie: string | null, providerName = 'test'): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  return await app.inject({ url: `/api/oauth/${providerName}/callback${url.search}`, headers: cookie === null ? {} : { cookie } })
}

async function fullLogin (app: FastifyInstance, account: string, headers: Record<string, string> = {}, providerName = 'test'): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  const s = await start(app, providerName, headers)
  return await callback(app, await authorize(s.location, account), s.cookie, providerName)
}

t.test('start redirects to the provider with PKCE S256, state and nonce, and seals them in a short-lived HttpOnly cookie', async (t) => {
  const { app } = await rpApp()
  t.teardown(() => app.close())
  const s = await start(app)
  const url = new URL(s.location)
  t.equal(url.origin, provider.issuer)
  t.equal(url.searchParams.get('client_id'), CLIENT_ID)
  t.equal(url.searchParams.get('response_type'), 'code')
  t.equal(url.searchParams.get('redirect_uri'), `${APP_BASE}/api/oauth/test/callback`)
  t.equal(url.searchParams.get('code_challenge_method'), 'S256')
  t.match(url.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.ok(url.searchParams.get('state'))
  t.ok(url.searchParams.get('nonce'))
  t.equal(url.searchParams.get('scope'), 'openid email profile')
  t.match(s.setCookie, /^__Host-gk_oauth=[A-Za-z0-9_-]+; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/)
  t.notMatch(s.setCookie, url.searchParams.get('state') as string, 'the state is sealed, not readable in the cookie')
  const unknown = await app.inject({ url: '/api/oauth/nope/start' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'GK_NOT_FOUND')
})

t.test('with allowSignup, a first login creates a user and a second logs into the same one; the token works like any other', async (t) => {
  const { app, events } = await rpApp({ allowSignup: true, signupRoles: ['member'] })
  t.teardown(() => app.close())
  const first = await fullLogin(app, 'alice')
  t.equal(first.statusCode, 200, first.body)
  t.equal(first.headers['cache-control'], 'no-store')
  t.match(first.headers['set-cookie'], /^__Host-gk_oauth=; Path=\/; Max-Age=0/, 'the state cookie is cleared')
  const body = first.json()
  t.equal(body.tokenType, 'Bearer')
  const me = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.accessToken}` } })).json()
  t.match(me, { kind: 'user', roles: ['member'] })
  const user = await app.gatekeeper.store.users.findById(me.subject)
  t.equal(user?.username, 'alice@example.com', 'named after the verified email')
  t.equal(user?.passwordHash, null, 'no password')

  const second = await fullLogin(app, 'alice')
  t.equal(second.statusCode, 200)
  const me2 = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${second.json().accessToken}` } })).json()
  t.equal(me2.subject, me.subject, 'the same local user')
  t.same(events.filter((e) => e.type === 'login.success').map((e) => e.created), [true, false])
  t.equal(events.filter((e) => e.type === 'oauth.identity_linked').length, 1)
  t.notMatch(JSON.stringify(events), body.accessToken, 'no token in audit events')
})

t.test('a verified email that is taken locally does not take over the account under signup: the new user gets its own name', async (t) => {
  const { app } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  const local = await app.gatekeeper.users.create({ username: 'alice@example.com', password: 'correct horse battery staple' })
  const res = await fullLogin(app, 'alice')
  t.equal(res.statusCode, 200, res.body)
  const me = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().accessToken}` } })).json()
  t.not(me.subject, local.id)
  t.equal((await app.gatekeeper.store.users.findById(me.subject))?.username, 'test:alice')
})

t.test('without allowSignup an unknown identity is refused and nothing is created', async (t) => {
  const { app } = await rpApp()
  t.teardown(() => app.close())
  const res = await fullLogin(app, 'alice')
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'GK_FORBIDDEN')
  t.equal(await app.gatekeeper.store.users.findByLogin('alice@example.com'), null)
  t.equal(await app.gatekeeper.store.users.findByLogin('test:alice'), null)
})

/** Records that the library verified a user's email, as the accounts plugin does when a mailed token is redeemed. */
async function markVerified (store: GatekeeperStore, id: string, at = new Date()): Promise<void> {
  await store.users.update(id, { emailVerifiedAt: at })
}

t.test('linkVerifiedEmail links a provider-verified email only to a password-less account whose email the library verified', async (t) => {
  const store = memoryStore()
  const { app, events } = await rpApp({ linkVerifiedEmail: true }, provider.issuer, false, store)
  t.teardown(() => app.close())
  const identities = app.gatekeeper.store.identities!
  const alice = await app.gatekeeper.users.create({ username: 'alice@example.com', password: null })
  const bob = await app.gatekeeper.users.create({ username: 'bob@example.com', password: null })
  await markVerified(store, bob.id)
  const unverified = await fullLogin(app, 'alice')
  t.equal(unverified.statusCode, 403, 'not while the library has not verified alice@example.com itself')
  t.match(events.find((e) => e.type === 'oauth.link_refused'), { userId: alice.id, provider: 'test', reason: 'email_unverified' })
  await markVerified(store, alice.id)
  const ok = await fullLogin(app, 'alice')
  t.equal(ok.statusCode, 200, ok.body)
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${ok.json().accessToken}` } })).json().subject, alice.id)
  const takeover = await fullLogin(app, 'mallory')
  t.equal(takeover.statusCode, 403, 'an unverified bob@example.com does not get bob\'s account')
  t.equal(takeover.json().code, 'GK_FORBIDDEN')
  t.same(await identities.listByUser(bob.id), [], 'nothing was linked to bob')
  t.match(await identities.listByUser(alice.id), [{ issuer: provider.issuer, subject: 'alice', provider: 'test' }])
})

/** Starts linking through `POST /api/oauth/:provider/link` as the holder of `token`; returns the provider URL and the state cookie. */
async function startLink (app: FastifyInstance, token: string, providerName = 'test'): Promise<{ location: string, cookie: string }> {
  const res = await app.inject({ method: 'POST', url: `/api/oauth/${providerName}/link`, headers: { authorization: `Bearer ${token}` } })
  if (res.statusCode !== 200) throw new Error(`link: ${res.statusCode} ${res.body}`)
  return { location: res.json().url, cookie: (res.headers['set-cookie'] as string).split(';')[0] as string }
}

t.test('a signed-in user links an identity to their own account explicitly', async (t) => {
  const { app } = await rpApp()
  t.teardown(() => app.close())
  const carol = await app.gatekeeper.users.create({ username: 'carol', password: 'correct horse battery staple' })
  const { accessToken } = await app.gatekeeper.tokens.issue(carol)
  const l = await startLink(app, accessToken)
  const res = await callback(app, await authorize(l.location, 'alice'), l.cookie)
  t.equal(res.statusCode, 200, res.body)
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().accessToken}` } })).json().subject, carol.id)
  const again = await fullLogin(app, 'alice')
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${again.json().accessToken}` } })).json().subject, carol.id, 'later logins without a session land in the linked account')
  const dave = await app.gatekeeper.users.create({ username: 'dave', password: 'correct horse battery staple' })
  const daveToken = (await app.gatekeeper.tokens.issue(dave)).accessToken
  const d = await startLink(app, daveToken)
  const steal = await callback(app, await authorize(d.location, 'alice'), d.cookie)
  t.equal(steal.statusCode, 409, 'an identity linked to one account is not moved to another')
  t.equal(steal.json().code, 'GK_CONFLICT')
})

t.test('a disabled linked user cannot log in through the provider', async (t) => {
  const { app } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  const first = await fullLogin(app, 'alice')
  const id = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${first.json().accessToken}` } })).json().subject
  await app.gatekeeper.users.disable(id)
  const res = await fullLogin(app, 'alice')
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_INVALID_CREDENTIALS')
})

t.test('attacks on the callback are refused with a GK_ code, never a token or a 500', async (t) => {
  const { app, clock } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  type Row = [string, () => Promise<{ url: URL, cookie: string | null, provider?: string }>, number, string]
  const rows: Row[] = [
    ['no state cookie (login CSRF)', async () => {
      const s = await start(app)
      return { url: await authorize(s.location, 'alice'), cookie: null }
    }, 400, 'GK_INVALID_REQUEST'],
    ['the state cookie of another login', async () => {
      const a = await start(app)
      const b = await start(app)
      return { url: await authorize(a.location, 'alice'), cookie: b.cookie }
    }, 400, 'GK_INVALID_REQUEST'],
    ['a tampered state cookie', async () => {
      const s = await start(app)
      const [name, value] = s.cookie.split('=') as [string, string]
      const flipped = value.slice(0, 30) + (value[30] === 'A' ? 'B' : 'A') + value.slice(31)
      return { url: await authorize(s.location, 'alice'), cookie: `${name}=${flipped}` }
    }, 400, 'GK_INVALID_REQUEST'],
    ['a state cookie made for another provider', async () => {
      const s = await start(app, 'other')
      const url = await authorize(s.location, 'alice')
      return { url, cookie: s.cookie, provider: 'test' }
    }, 400, 'GK_INVALID_REQUEST'],
    ['an expired state cookie', async () => {
      const s = await start(app)
      const url = await authorize(s.location, 'alice')
      clock.offset = 601_000
      return { url, cookie: s.cookie }
    }, 400, 'GK_INVALID_REQUEST'],
    ['a missing state parameter', async () => {
      const s = await start(app)
      const url = await authorize(s.location, 'alice')
      url.searchParams.delete('state')
      return { url, cookie: s.cookie }
    }, 400, 'GK_INVALID_REQUEST'],
    ['a code injected from another login (PKCE binds it to its verifier)', async () => {
      const victim = await start(app)
      const attacker = await start(app)
      const victimUrl = await authorize(victim.location, 'alice')
      const attackerUrl = await authorize(attacker.location, 'mallory')
      victimUrl.searchParams.set('code', attackerUrl.searchParams.get('code') as string)
      return { url: victimUrl, cookie: victim.cookie }
    }, 401, 'GK_INVALID_GRANT'],
    ['a forged code', async () => {
      const s = await start(app)
      const url = await authorize(s.location, 'alice')
      url.searchParams.set('code', 'forged')
      return { url, cookie: s.cookie }
    }, 401, 'GK_INVALID_GRANT'],
    ['a response from another issuer (mix-up)', async () => {
      const s = await start(app)
      const url = await authorize(s.location, 'alice')
      url.searchParams.set('iss', 'https://evil.example')
      return { url, cookie: s.cookie }
    }, 401, 'GK_INVALID_GRANT'],
    ['the provider\'s error response (the user cancelled)', async () => {
      const s = await start(app)
      return { url: await authorize(s.location, 'alice', true), cookie: s.cookie }
    }, 401, 'GK_INVALID_GRANT']
  ]
  for (const [name, setup, status, code] of rows) {
    clock.offset = 0
    const { url, cookie, provider: p } = await setup()
    const res = await callback(app, url, cookie, p)
    t.equal(res.statusCode, status, `${name}: status (${res.body})`)
    t.equal(res.json().code, code, `${name}: code`)
    t.notOk('accessToken' in res.json(), `${name}: no token`)
  }
  clock.offset = 0
  t.equal(await app.gatekeeper.store.users.findByLogin('alice@example.com'), null, 'no user was created by any attack')
})

t.test('a replayed callback is refused: the code is single-use at the provider', async (t) => {
  const { app } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  const s = await start(app)
  const url = await authorize(s.location, 'alice')
  t.equal((await callback(app, url, s.cookie)).statusCode, 200)
  const replay = await callback(app, url, s.cookie)
  t.equal(replay.statusCode, 401)
  t.equal(replay.json().code, 'GK_INVALID_GRANT')
})

t.test('a provider that cannot be reached is 503 GK_PROVIDER_UNAVAILABLE, and discovery is retried later', async (t) => {
  const port = await freePort()
  const { app } = await rpApp({}, `http://127.0.0.1:${port}`)
  t.teardown(() => app.close())
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ url: '/api/oauth/test/start' })
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'GK_PROVIDER_UNAVAILABLE')
  }
})

t.test('a public client (no secret) logs in with PKCE alone', async (t) => {
  const { app } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  const res = await fullLogin(app, 'alice', {}, 'pub')
  t.equal(res.statusCode, 200, res.body)
  t.ok(res.json().accessToken)
})

t.test('with the refresh plugin (body transport) the login also opens a session', async (t) => {
  const { app } = await rpApp({ allowSignup: true }, provider.issuer, true)
  t.teardown(() => app.close())
  const res = await fullLogin(app, 'alice')
  t.equal(res.statusCode, 200, res.body)
  t.type(res.json().refreshToken, 'string')
  t.type(res.json().refreshExpiresIn, 'number')
  const renewed = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: res.json().refreshToken } })
  t.equal(renewed.statusCode, 200, 'the refresh token works')
})

t.test('a provider whose token endpoint fails is 503, whatever its error page looks like', async (t) => {
  for (const [status, json] of [[500, true], [503, false], [502, true]] as const) {
    const failing = await startFailingProvider(status, json)
    const { app } = await rpApp({}, failing.issuer)
    const s = await start(app)
    const state = new URL(s.location).searchParams.get('state') as string
    const res = await app.inject({ url: `/api/oauth/test/callback?code=abc&state=${state}`, headers: { cookie: s.cookie } })
    t.equal(res.statusCode, 503, `${status} ${json ? 'JSON' : 'HTML'}: ${res.body}`)
    t.equal(res.json().code, 'GK_PROVIDER_UNAVAILABLE')
    await app.close()
    await failing.close()
  }
})

t.test('a user created at signup is removed again when its identity cannot be linked (no half-created users)', async (t) => {
  const store = memoryStore()
  store.identities = { ...store.identities!, create: async () => { throw new errors.GK_CONFLICT('identity already linked') } }
  const { app } = await rpApp({ allowSignup: true }, provider.issuer, false, store)
  t.teardown(() => app.close())
  const res = await fullLogin(app, 'alice')
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'GK_CONFLICT')
  t.equal(await app.gatekeeper.store.users.findByLogin('alice@example.com'), null)
})

t.test('an unverified email never names a new user', async (t) => {
  const { app } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  const res = await fullLogin(app, 'mallory')
  t.equal(res.statusCode, 200, res.body)
  const me = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().accessToken}` } })).json()
  t.equal((await app.gatekeeper.store.users.findById(me.subject))?.username, 'test:mallory')
  t.equal(await app.gatekeeper.store.users.findByLogin('bob@example.com'), null)
})

t.test('identity links live in the store: after a restart on the same SQLite file the identity logs into the same user', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-oidc-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const filename = `${dir}/auth.db`
  const first = await rpApp({ allowSignup: true }, provider.issuer, false, sqliteStore({ filename }))
  const a = await fullLogin(first.app, 'alice')
  t.equal(a.statusCode, 200, a.body)
  const userId = (await first.app.inject({ url: '/me', headers: { authorization: `Bearer ${a.json().accessToken}` } })).json().subject
  await first.app.close()

  const second = await rpApp({ allowSignup: true }, provider.issuer, false, sqliteStore({ filename }))
  t.teardown(() => second.app.close())
  const b = await fullLogin(second.app, 'alice')
  t.equal(b.statusCode, 200, b.body)
  t.equal((await second.app.inject({ url: '/me', headers: { authorization: `Bearer ${b.json().accessToken}` } })).json().subject, userId)
  t.match(second.events.find((e) => e.type === 'login.success'), { created: false })
  const links = await second.app.gatekeeper.store.identities!.listByUser(userId)
  t.match(links, [{ issuer: provider.issuer, subject: 'alice', userId, provider: 'test' }])
})

t.test('a link whose user was deleted is removed, and the identity signs up afresh', async (t) => {
  const { app, events } = await rpApp({ allowSignup: true })
  t.teardown(() => app.close())
  const first = await fullLogin(app, 'alice')
  const oldId = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${first.json().accessToken}` } })).json().subject
  t.ok(await app.gatekeeper.store.users.delete(oldId))
  const again = await fullLogin(app, 'alice')
  t.equal(again.statusCode, 200, again.body)
  const newId = (await app.inject({ url: '/me', headers: { authorization: `Bearer ${again.json().accessToken}` } })).json().subject
  t.not(newId, oldId)
  t.match(events.find((e) => e.type === 'oauth.identity_unlinked'), { userId: oldId, provider: 'test', reason: 'user_deleted' })
  t.same((await app.gatekeeper.store.identities!.listByUser(oldId)), [])
  t.equal((await app.gatekeeper.store.identities!.find(provider.issuer, 'alice'))?.userId, newId)
})
