import t from 'tap'
import { SESSION_COOKIE } from '../../lib/refresh/cookies.js'
import { cookieValue, createUser, CSRF, login, refreshApp, refreshWith } from './helpers.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('the session list shows the caller\'s active sessions, newest first, without tokens', async (t) => {
  const { app, clock } = await refreshApp()
  t.teardown(() => app.close())
  await createUser(app)
  await createUser(app, 'bob')
  const phone = (await login(app, 'alice', { 'user-agent': 'phone' })).body
  clock.now += 1000
  const laptop = (await login(app, 'alice', { 'user-agent': 'laptop' })).body
  await login(app, 'bob')
  clock.now += 60_000
  const rotated = (await refreshWith(app, phone.refreshToken)).json()

  const res = await app.inject({ url: '/api/sessions', headers: bearer(laptop.accessToken) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const { sessions } = res.json()
  t.equal(sessions.length, 2, 'bob\'s session is not listed')
  t.same(sessions.map((s: any) => s.userAgent).sort(), ['laptop', 'phone'])
  const p = sessions.find((s: any) => s.id === phone.sessionId)
  t.match(p, { ip: '127.0.0.1', userAgent: 'phone', current: false, createdAt: String, expiresAt: String })
  t.equal(p.lastUsedAt, new Date(clock.now).toISOString(), 'last used at the refresh')
  t.same(Object.keys(p).sort(), ['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent'])
  for (const secret of [phone.refreshToken, laptop.refreshToken, rotated.refreshToken]) t.notOk(res.body.includes(secret))
})

t.test('the session cookie flags the current session', async (t) => {
  const { app } = await refreshApp({ jwt: { cookie: {} } })
  t.teardown(() => app.close())
  await createUser(app)
  await login(app)
  const { body, res } = await login(app)
  const access = cookieValue(res, '__Host-gk_access', '/')
  const sid = cookieValue(res, SESSION_COOKIE, '/api/sessions')
  t.equal(sid, body.sessionId)
  const list = await app.inject({ url: '/api/sessions', headers: { cookie: `__Host-gk_access=${access}; ${SESSION_COOKIE}=${sid}` } })
  const sessions = list.json().sessions
  t.equal(sessions.length, 2)
  t.same(sessions.filter((s: any) => s.current).map((s: any) => s.id), [body.sessionId])

  const del = await app.inject({ method: 'DELETE', url: `/api/sessions/${sid}`, headers: { cookie: `__Host-gk_access=${access}; ${SESSION_COOKIE}=${sid}`, ...CSRF } })
  t.equal(del.statusCode, 204)
  t.ok(cookieValue(del, SESSION_COOKIE, '/api/sessions') === '', 'revoking the current session clears its cookies')
})

t.test('a session can be revoked by its owner only; anyone else gets 404', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const aliceId = await createUser(app)
  await createUser(app, 'bob')
  const alice = (await login(app)).body
  const other = (await login(app)).body
  const bob = (await login(app, 'bob')).body
  const audit: any[] = []
  app.gatekeeper.on('session.revoked', (e) => audit.push(e))

  const rows: Array<[string, string, number]> = [
    ['bob deletes alice\'s session', `/api/sessions/${other.sessionId}`, 404],
    ['an unknown id', '/api/sessions/00000000-0000-4000-8000-000000000000', 404],
    ['a long id', `/api/sessions/${'a'.repeat(100)}`, 404]
  ]
  for (const [name, url, status] of rows) {
    const res = await app.inject({ method: 'DELETE', url, headers: bearer(bob.accessToken) })
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, 'GK_NOT_FOUND', name)
  }
  t.equal((await refreshWith(app, other.refreshToken)).statusCode, 200, 'alice\'s session survived')
  const notFound = (await app.inject({ method: 'DELETE', url: `/api/sessions/${other.sessionId}`, headers: bearer(bob.accessToken) })).body
  const unknown = (await app.inject({ method: 'DELETE', url: '/api/sessions/nope', headers: bearer(bob.accessToken) })).body
  t.equal(notFound, unknown, 'someone else\'s session looks exactly like a missing one')
  t.equal(await app.gatekeeper.refresh!.revokeSession(aliceId, 'a'.repeat(200)), false, 'an overlong id is not looked up')

  const res = await app.inject({ method: 'DELETE', url: `/api/sessions/${alice.sessionId}`, headers: bearer(alice.accessToken) })
  t.equal(res.statusCode, 204)
  t.equal((await refreshWith(app, alice.refreshToken)).statusCode, 401)
  t.match(audit, [{ type: 'session.revoked', subject: aliceId, familyId: alice.sessionId, reason: 'session_revoked' }])
  const again = await app.inject({ method: 'DELETE', url: `/api/sessions/${alice.sessionId}`, headers: bearer(alice.accessToken) })
  t.equal(again.statusCode, 404, 'a revoked session is gone')
})

t.test('sessions belong to people: anonymous callers get 401, applications 403', async (t) => {
  const { app } = await refreshApp({
    setup: (app) => app.gatekeeper.registerStrategy({
      name: 'app',
      scheme: 'ApiKey',
      authenticate: (req) => req.headers['x-app'] === undefined ? null : { strategy: 'app', kind: 'application', subject: 'u1', roles: [], permissions: [], scopes: [] }
    })
  })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/api/sessions' })).statusCode, 401)
  for (const [method, url] of [['GET', '/api/sessions'], ['DELETE', '/api/sessions/x'], ['POST', '/api/logout/all']] as const) {
    const res = await app.inject({ method, url, headers: { 'x-app': '1' } })
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.equal(res.json().code, 'GK_FORBIDDEN')
  }
})
