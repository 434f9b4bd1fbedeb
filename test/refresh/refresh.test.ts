import t from 'tap'
import { generateToken, hashToken } from '../../lib/refresh/token.js'
import { createUser, login, refreshApp, refreshWith, REFRESH_SECRET } from './helpers.js'

const DAY = 86_400_000
const INVALID_GRANT = { statusCode: 401, code: 'GK_INVALID_GRANT', error: 'Unauthorized', message: 'Invalid grant' }

t.test('login returns the first refresh token with its lifetime and session id', async (t) => {
  const { app, store } = await refreshApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { body, res } = await login(app)
  t.match(body, { accessToken: String, tokenType: 'Bearer', expiresIn: 900, refreshToken: /^[A-Za-z0-9_-]{43}$/, refreshExpiresIn: 7 * 86_400, sessionId: String })
  t.equal(res.headers['set-cookie'], undefined, 'body transport sets no cookie')
  const record = await store.refreshTokens.findByHash(hashToken(body.refreshToken))
  t.equal(record?.familyId, body.sessionId, 'stored under its SHA-256')
  t.notOk(JSON.stringify(record).includes(body.refreshToken), 'never in plaintext')
})

t.test('the client sequence: 401 on an expired access token, refresh, retry', async (t) => {
  const { app, clock } = await refreshApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { body } = await login(app)
  clock.now += 16 * 60_000
  const expired = await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.accessToken}` } })
  t.equal(expired.statusCode, 401)
  t.equal(expired.json().code, 'GK_TOKEN_EXPIRED')

  const res = await refreshWith(app, body.refreshToken)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const next = res.json()
  t.match(next, { accessToken: String, tokenType: 'Bearer', expiresIn: 900, refreshToken: /^[A-Za-z0-9_-]{43}$/, refreshExpiresIn: 7 * 86_400, sessionId: body.sessionId })
  t.not(next.refreshToken, body.refreshToken, 'every refresh rotates')

  const retry = await app.inject({ url: '/me', headers: { authorization: `Bearer ${next.accessToken}` } })
  t.equal(retry.statusCode, 200)
  t.equal(retry.json().subject, (await app.gatekeeper.store.users.findByLogin('alice'))?.id)
})

t.test('every failure is the same 401 GK_INVALID_GRANT', async (t) => {
  const { app, clock } = await refreshApp({ refresh: { idleTtl: '1d', ttl: '2d' } })
  t.teardown(() => app.close())
  await createUser(app)
  await createUser(app, 'bob')
  const rows: Array<[string, () => Promise<unknown>]> = [
    ['no body', async () => undefined],
    ['a number', async () => 12345],
    ['an empty string', async () => ''],
    ['a malformed token', async () => 'not-a-token'],
    ['an overlong token', async () => 'A'.repeat(2000)],
    ['a foreign token (well formed, never issued)', async () => generateToken()],
    ['an access token', async () => (await login(app)).body.accessToken],
    ['a revoked token (logged out)', async () => {
      const { body } = await login(app)
      await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${body.accessToken}` }, payload: { refreshToken: body.refreshToken } })
      return body.refreshToken
    }],
    ['an idle-expired token', async () => {
      const { body } = await login(app)
      clock.now += DAY
      return body.refreshToken
    }],
    ['a token of a disabled user', async () => {
      const { body } = await login(app, 'bob')
      await app.gatekeeper.users!.disable((await app.gatekeeper.store.users.findByLogin('bob'))!.id)
      return body.refreshToken
    }]
  ]
  const bodies = new Set<string>()
  for (const [name, make] of rows) {
    const token = await make()
    const res = token === undefined
      ? await app.inject({ method: 'POST', url: '/api/token/refresh' })
      : await refreshWith(app, token)
    t.equal(res.statusCode, 401, name)
    t.same(res.json(), INVALID_GRANT, name)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"', name)
    bodies.add(res.body)
  }
  t.equal(bodies.size, 1, 'identical bodies')
  const huge = await refreshWith(app, 'A'.repeat(10_000))
  t.equal(huge.statusCode, 413, 'a body over 4 KiB is refused unread')
})

t.test('a refresh token is not an access token', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { body } = await login(app)
  const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.refreshToken}` } })
  t.equal(res.statusCode, 401)
  // The jwt strategy leaves a dot-less Bearer value to other strategies; none takes it.
  t.ok(['GK_UNAUTHORIZED', 'GK_TOKEN_INVALID'].includes(res.json().code), res.json().code)
})

t.test('a deleted user cannot refresh', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const id = await createUser(app)
  const { body } = await login(app)
  await app.gatekeeper.store.users.delete(id)
  t.same((await refreshWith(app, body.refreshToken)).json(), INVALID_GRANT)
})

t.test('reuse revokes the whole family, is audited and raised as an anomaly', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const userId = await createUser(app)
  const { body } = await login(app, 'alice', { 'user-agent': 'victim-browser' })
  const audit: any[] = []
  const anomalies: any[] = []
  app.gatekeeper.on('audit', (e) => audit.push(e))
  app.gatekeeper.on('anomaly', (e) => anomalies.push(e))

  const legit = (await refreshWith(app, body.refreshToken, { 'user-agent': 'victim-browser' })).json()
  const thief = await refreshWith(app, body.refreshToken, { 'user-agent': 'thief-tool' })
  t.same(thief.json(), INVALID_GRANT)
  t.same((await refreshWith(app, legit.refreshToken)).json(), INVALID_GRANT, 'the legitimate successor is revoked too')

  t.same(audit.map((e) => e.type), ['token.refreshed', 'refresh.reuse_detected'])
  t.match(audit[0], { outcome: 'success', subject: userId, familyId: body.sessionId, replay: false })
  t.match(audit[1], { outcome: 'failure', reason: 'GK_INVALID_GRANT', familyId: body.sessionId, userId, ip: '127.0.0.1', userAgent: 'thief-tool' })
  t.equal(anomalies.length, 1)
  t.match(anomalies[0], { type: 'refresh_reuse', familyId: body.sessionId, userId, ip: '127.0.0.1', userAgent: 'thief-tool' })
  t.ok(anomalies[0].time instanceof Date)
  for (const e of [...audit, ...anomalies]) {
    const text = JSON.stringify(e)
    t.notOk(text.includes(body.refreshToken) || text.includes(legit.refreshToken), 'no token in events')
  }
  t.same(await app.gatekeeper.refresh!.sessions(userId), [], 'the session is gone')
})

t.test('reuse grace: a lost response is recovered with the same successor', async (t) => {
  const { app, clock } = await refreshApp({ refresh: { reuseGrace: '30s', secret: REFRESH_SECRET } })
  t.teardown(() => app.close())
  await createUser(app)
  const { body } = await login(app)
  const anomalies: unknown[] = []
  app.gatekeeper.on('anomaly', (e) => anomalies.push(e))
  const lost = (await refreshWith(app, body.refreshToken)).json()
  clock.now += 5_000
  const retried = await refreshWith(app, body.refreshToken)
  t.equal(retried.statusCode, 200)
  t.equal(retried.json().refreshToken, lost.refreshToken, 'the same refresh token')
  t.equal(retried.json().sessionId, lost.sessionId)
  t.equal(anomalies.length, 0, 'no alarm')
  const next = await refreshWith(app, lost.refreshToken)
  t.equal(next.statusCode, 200, 'and the successor works')

  clock.now += 60_000
  t.same((await refreshWith(app, lost.refreshToken)).json(), INVALID_GRANT, 'after the window it is reuse')
  t.equal(anomalies.length, 1)
})

t.test('reuse grace works across instances sharing the store and the secret', async (t) => {
  const a = await refreshApp({ refresh: { reuseGrace: '10s', secret: REFRESH_SECRET } })
  const b = await refreshApp({ store: a.store, clock: a.clock, refresh: { reuseGrace: '10s', secret: REFRESH_SECRET } })
  const c = await refreshApp({ store: a.store, clock: a.clock, refresh: { reuseGrace: '10s', secret: 'another-secret-another-secret-another' } })
  t.teardown(async () => { await b.app.close(); await c.app.close() })
  await createUser(a.app)
  const { body } = await login(a.app)
  const first = (await refreshWith(a.app, body.refreshToken)).json()
  t.equal((await refreshWith(b.app, body.refreshToken)).json().refreshToken, first.refreshToken, 'B re-derives what A issued')
  t.same((await refreshWith(c.app, body.refreshToken)).json(), INVALID_GRANT, 'an instance with another secret cannot, and treats it as reuse')
  await a.app.close()
})

t.test('the session has an absolute end however often it is refreshed', async (t) => {
  const { app, clock } = await refreshApp({ refresh: { ttl: '3d', idleTtl: '1d' } })
  t.teardown(() => app.close())
  await createUser(app)
  let token = (await login(app)).body.refreshToken
  for (let i = 0; i < 5; i++) {
    clock.now += DAY / 2
    const res = await refreshWith(app, token)
    t.equal(res.statusCode, 200)
    t.ok(res.json().refreshExpiresIn <= 3 * 86_400 - (i + 1) * 43_200, 'refreshExpiresIn never passes the family\'s end')
    token = res.json().refreshToken
  }
  clock.now += DAY / 2
  t.same((await refreshWith(app, token)).json(), INVALID_GRANT)
})

t.test('logout revokes the family; logout with another user\'s token does not', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const aliceId = await createUser(app)
  await createUser(app, 'bob')
  const alice = (await login(app)).body
  const bob = (await login(app, 'bob')).body
  const audit: any[] = []
  app.gatekeeper.on('audit', (e) => audit.push(e))

  const cross = await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${alice.accessToken}` }, payload: { refreshToken: bob.refreshToken } })
  t.equal(cross.statusCode, 204)
  t.equal((await refreshWith(app, bob.refreshToken)).statusCode, 200, 'bob\'s session survives alice\'s logout')

  const res = await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${alice.accessToken}` }, payload: { refreshToken: alice.refreshToken } })
  t.equal(res.statusCode, 204)
  t.same((await refreshWith(app, alice.refreshToken)).json(), INVALID_GRANT)
  t.match(audit.filter((e) => e.type === 'session.revoked'), [{ familyId: alice.sessionId, userId: aliceId, reason: 'logout' }])

  const garbage = await app.inject({ method: 'POST', url: '/api/logout', payload: { refreshToken: 'garbage' } })
  t.equal(garbage.statusCode, 204, 'a malformed token at logout is ignored')
})

t.test('logout with an expired access token still ends the session', async (t) => {
  const { app, clock } = await refreshApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { body } = await login(app)
  clock.now += 20 * 60_000
  await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${body.accessToken}` }, payload: { refreshToken: body.refreshToken } })
  t.same((await refreshWith(app, body.refreshToken)).json(), INVALID_GRANT)
})

t.test('logout everywhere and a password change revoke every session of the user only', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const aliceId = await createUser(app)
  await createUser(app, 'bob')
  const a1 = (await login(app)).body
  const a2 = (await login(app)).body
  const b = (await login(app, 'bob')).body
  const audit: any[] = []
  app.gatekeeper.on('logout', (e) => audit.push(e))

  const res = await app.inject({ method: 'POST', url: '/api/logout/all', headers: { authorization: `Bearer ${a1.accessToken}` } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { revoked: 2 })
  t.match(audit, [{ type: 'logout', subject: aliceId, scope: 'all', sessions: 2 }])
  t.same((await refreshWith(app, a1.refreshToken)).json(), INVALID_GRANT)
  t.same((await refreshWith(app, a2.refreshToken)).json(), INVALID_GRANT)
  const bobNext = await refreshWith(app, b.refreshToken)
  t.equal(bobNext.statusCode, 200)

  const a3 = (await login(app)).body
  const changed = await app.inject({
    method: 'POST',
    url: '/api/password',
    headers: { authorization: `Bearer ${a3.accessToken}` },
    payload: { currentPassword: 'correct horse battery staple', newPassword: 'a whole new passphrase here' }
  })
  t.equal(changed.statusCode, 204)
  t.same((await refreshWith(app, a3.refreshToken)).json(), INVALID_GRANT, 'a password change ends every session')
  t.equal((await refreshWith(app, bobNext.json().refreshToken)).statusCode, 200)
})

t.test('logout everywhere needs a signed-in person', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/api/logout/all' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_UNAUTHORIZED')
})
