import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { adminClient, redisClient, requireRedis, uniquePrefix, until } from '../redis/env.js'
import { AUDIENCE, auditSweep, bearer, capturedLogger, createUser, ISSUER, login, PASSWORD, remember, SECRET, securityApp } from './helpers.js'

// The attack: a stolen (or simply kept) access token outlives the session it
// was issued for. Logout, logout-all, password change, session revocation
// and refresh-token reuse end refresh sessions, but their access tokens
// lived until `exp`, even with `checkUser`. With `checkUser` an access token
// carries its session id (`sid`) and is refused once the session ended: at
// once on the instance that ended it, over the Redis bus on the others.

const CHECK = { checkUser: { cacheTtl: '5m' }, cookie: false } as const

async function sessionApp (): Promise<FastifyInstance> {
  const { app } = await securityApp({ jwt: CHECK, refresh: { transport: 'body' } })
  t.teardown(() => app.close())
  return app
}

const me = async (app: FastifyInstance, token: string): Promise<number> => (await app.inject({ url: '/me', headers: bearer(token) })).statusCode

t.test('with checkUser, access tokens name their session', async (t) => {
  const app = await sessionApp()
  await createUser(app, 'sid-alice')
  const { body } = await login(app, 'sid-alice')
  const claims = await app.gatekeeper.tokens.verify(body.accessToken)
  t.equal(claims.sid, body.sessionId, 'the login token')
  const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: body.refreshToken } })
  remember(refreshed.json().accessToken)
  remember(refreshed.json().refreshToken)
  t.equal((await app.gatekeeper.tokens.verify(refreshed.json().accessToken)).sid, body.sessionId, 'a refreshed token')
})

t.test('a token of an ended session is refused at once, even when its session was cached as live (table)', async (t) => {
  const app = await sessionApp()
  const end: Array<[string, (s: { accessToken: string, refreshToken: string, sessionId: string }) => Promise<number>]> = [
    ['logout with the refresh token', async (s) => (await app.inject({ method: 'POST', url: '/api/logout', headers: bearer(s.accessToken), payload: { refreshToken: s.refreshToken } })).statusCode],
    ['logout with the access token alone', async (s) => (await app.inject({ method: 'POST', url: '/api/logout', headers: bearer(s.accessToken) })).statusCode],
    ['logout everywhere', async (s) => (await app.inject({ method: 'POST', url: '/api/logout/all', headers: bearer(s.accessToken) })).statusCode],
    ['a password change', async (s) => (await app.inject({ method: 'POST', url: '/api/password', headers: bearer(s.accessToken), payload: { currentPassword: PASSWORD, newPassword: `${PASSWORD}-new` } })).statusCode],
    ['the session revoked from the session list', async (s) => (await app.inject({ method: 'DELETE', url: `/api/sessions/${s.sessionId}`, headers: bearer(s.accessToken) })).statusCode],
    ['refresh-token reuse (theft detected)', async (s) => {
      const first = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: s.refreshToken } })
      remember(first.json().accessToken)
      remember(first.json().refreshToken)
      return (await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: s.refreshToken } })).statusCode
    }],
    ['revokeAll() from your own code', async (s) => { await app.gatekeeper.refresh.revokeAll((await app.gatekeeper.tokens.verify(s.accessToken)).sub); return 204 }]
  ]
  let n = 0
  for (const [how, endIt] of end) {
    const username = `ended-${n++}`
    await createUser(app, username)
    const session = (await login(app, username)).body as { accessToken: string, refreshToken: string, sessionId: string }
    const other = (await login(app, username)).body as { accessToken: string }
    t.equal(await me(app, session.accessToken), 200, `${how}: the token works (and its session is now cached as live for 5 minutes)`)
    t.ok([200, 204, 401].includes(await endIt(session)), `${how}: done`)
    t.equal(await me(app, session.accessToken), 401, `${how}: the token of the ended session is refused at once [issue 17 item 12; RFC 7009 §2.1 spirit; ASVS 3.3.1]`)
    const all = how === 'logout everywhere' || how === 'a password change' || how.startsWith('revokeAll')
    t.equal(await me(app, other.accessToken), all ? 401 : 200, `${how}: the user's other session ${all ? 'ended too' : 'keeps working'}`)
  }
})

t.test('the answer is the one of every bad token, and a session past its expiry is ended too', async (t) => {
  const { app, clock } = await securityApp({ jwt: CHECK, refresh: { transport: 'body', ttl: '1h', idleTtl: '1h' } })
  t.teardown(() => app.close())
  await createUser(app, 'expiring')
  const s = (await login(app, 'expiring')).body
  await app.inject({ method: 'POST', url: '/api/logout', headers: bearer(s.accessToken) })
  const res = await app.inject({ url: '/me', headers: bearer(s.accessToken) })
  t.match(res.json(), { statusCode: 401, code: 'GK_TOKEN_INVALID' })
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  const late = (await login(app, 'expiring')).body
  t.equal(await me(app, late.accessToken), 200)
  clock.now += 3_600_000 - 60_000
  const fresh = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: late.refreshToken } })
  remember(fresh.json().accessToken)
  remember(fresh.json().refreshToken)
  clock.now += 120_000
  t.equal(await me(app, fresh.json().accessToken), 401, 'a token outliving its session\'s absolute expiry is refused')
})

t.test('without checkUser, tokens carry no sid and live until exp (the documented window)', async (t) => {
  const { app } = await securityApp({ jwt: { cookie: false }, refresh: { transport: 'body' } })
  t.teardown(() => app.close())
  await createUser(app, 'window')
  const s = (await login(app, 'window')).body
  t.equal((await app.gatekeeper.tokens.verify(s.accessToken)).sid, undefined)
  await app.inject({ method: 'POST', url: '/api/logout', headers: bearer(s.accessToken), payload: { refreshToken: s.refreshToken } })
  t.equal(await me(app, s.accessToken), 200, 'still accepted until exp: keep accessTokenTtl short or turn checkUser on')
})

t.test('a sid claim that is not a non-empty string makes the token invalid', async (t) => {
  const app = await sessionApp()
  const id = await createUser(app, 'bad-sid')
  for (const sid of ['', 42]) {
    const token = remember((await app.gatekeeper.tokens.issue({ id, roles: ['user'] }, { sessionId: sid as string })).accessToken)
    t.equal(await me(app, token), 401, `sid ${JSON.stringify(sid)}`)
  }
  const unknown = remember((await app.gatekeeper.tokens.issue({ id, roles: ['user'] }, { sessionId: 'no-such-session' })).accessToken)
  t.equal(await me(app, unknown), 401, 'a session the store does not know')
  const alien = (await login(app, 'bad-sid')).body.sessionId as string
  const other = await createUser(app, 'bad-sid-other')
  const crossed = remember((await app.gatekeeper.tokens.issue({ id: other, roles: ['user'] }, { sessionId: alien })).accessToken)
  t.equal(await me(app, crossed), 401, 'another user\'s session')
})

t.test('two instances on Redis: the session ended on one is refused by the other at once, not after cacheTtl', async (t) => {
  if (!await requireRedis(t)) return
  const prefix = uniquePrefix('sid')
  adminClient(t, prefix)
  const store = memoryStore()
  const instance = async (): Promise<FastifyInstance> => {
    const app = Fastify({ logger: capturedLogger() })
    t.teardown(() => app.close())
    await app.register(gatekeeper, { store, redis: { client: redisClient(t), prefix }, bruteForce: false })
    await app.register(jwt, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, ...CHECK })
    await app.register(refresh, { transport: 'body' })
    app.get('/me', async (req) => req.auth)
    await app.ready()
    return app
  }
  const a = await instance()
  const b = await instance()
  await until(() => [a, b].every((x) => x.gatekeeper.redis?.settings.client.status === 'ready'), 5000)
  await createUserIn(a, store, 'two-alice')
  for (const [how, endIt] of [
    ['logout', async (s: Record<string, string>) => { await a.inject({ method: 'POST', url: '/api/logout', headers: bearer(s.accessToken as string), payload: { refreshToken: s.refreshToken } }) }],
    ['logout everywhere', async (s: Record<string, string>) => { await a.inject({ method: 'POST', url: '/api/logout/all', headers: bearer(s.accessToken as string) }) }]
  ] as const) {
    const s = (await login(a, 'two-alice')).body as Record<string, string>
    t.equal(await me(b, s.accessToken as string), 200, `${how}: instance B takes the token (and caches its session as live for 5 minutes)`)
    await endIt(s)
    t.equal(await me(a, s.accessToken as string), 401, `${how}: instance A, which ended it, refuses it at once`)
    const ms = await until(async () => await me(b, s.accessToken as string) === 401, 2000)
    t.pass(`${how}: instance B refuses it ${ms.toFixed(0)} ms later, over the bus (cacheTtl is 5 minutes)`)
  }
})

async function createUserIn (app: FastifyInstance, store: GatekeeperStore, username: string): Promise<void> {
  await store.users.create({ username, passwordHash: await app.gatekeeper.passwords.hash(PASSWORD), roles: ['user'], disabled: false })
}

auditSweep(t)
