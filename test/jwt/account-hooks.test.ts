import t from 'tap'
import type { AuditEvent } from '../../lib/core/types.js'
import { refresh } from '../../lib/refresh/index.js'
import { PASSWORD, jwtApp } from './helpers.js'

const register = (payload: Record<string, unknown>) => ({ method: 'POST' as const, url: '/api/register', payload })

t.test('register takes an optional email; a username that is an address is the email too', async (t) => {
  const { app } = await jwtApp({ routes: { register: true } })
  t.teardown(() => app.close())
  const store = app.gatekeeper.store.users
  const a = await app.inject(register({ username: 'ada', password: PASSWORD, email: ' Ada@Example.org ' }))
  t.equal(a.statusCode, 201, a.body)
  t.same(Object.keys(a.json()).sort(), ['id', 'roles', 'username'], 'the answer does not change')
  t.match(await store.findById(a.json().id), { email: 'Ada@Example.org', emailVerifiedAt: null })
  const g = await app.inject(register({ username: 'grace@example.org', password: PASSWORD }))
  t.match(await store.findById(g.json().id), { username: 'grace@example.org', email: 'grace@example.org', emailVerifiedAt: null })
  const p = await app.inject(register({ username: 'plain', password: PASSWORD }))
  t.match(await store.findById(p.json().id), { email: null })
  const taken = await app.inject(register({ username: 'other', password: PASSWORD, email: 'ADA@example.org' }))
  t.equal(taken.statusCode, 409)
  t.equal(taken.json().code, 'GK_CONFLICT')
  t.equal(await store.findByLogin('other'), null)
  for (const email of ['not-an-address', 'a@b.c\r\nBcc: x@y.z', '', 42, null]) {
    const bad = await app.inject(register({ username: `bad-${String(email).length}`, password: PASSWORD, email }))
    t.equal(bad.statusCode, 400, JSON.stringify(email))
    t.equal(bad.json().code, 'GK_INVALID_REQUEST')
  }
})

t.test('users.create with emailVerified sets emailVerifiedAt to now', async (t) => {
  const { app, clock } = await jwtApp()
  t.teardown(() => app.close())
  const u = await app.gatekeeper.users.create({ username: 'seeded', password: null, email: 'seeded@example.org', emailVerified: true })
  t.same(u.emailVerifiedAt, new Date(clock.now))
})

t.test('register extensions run after the account exists, with the account', async (t) => {
  const { app } = await jwtApp({ routes: { register: true } }, {}, {})
  t.teardown(() => app.close())
  const seen: string[] = []
  app.gatekeeper.jwt.addRegisterExtension(async (user) => {
    t.ok(await app.gatekeeper.store.users.findById(user.id), 'stored before the extension runs')
    seen.push(user.email ?? 'none')
  })
  t.throws(() => app.gatekeeper.jwt.addRegisterExtension('x' as never), { code: 'GK_CONFIG' })
  await app.inject(register({ username: 'ext', password: PASSWORD, email: 'ext@example.org' }))
  t.same(seen, ['ext@example.org'])
})

t.test('users.setPassword: policy first, then claim, then the store; sessions revoked and the event recorded', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const users = app.gatekeeper.users
  const events: AuditEvent[] = []
  app.gatekeeper.on('password.changed', (e: AuditEvent) => events.push(e))
  const u = await users.create({ username: 'setter', password: PASSWORD })
  const at = new Date(app.gatekeeper.now() + 86_400_000)
  const { family } = await app.gatekeeper.store.refreshTokens.createFamily({ userId: u.id, expiresAt: at }, { hash: 'h-setter', expiresAt: at })
  const before = (await app.gatekeeper.store.users.findById(u.id))?.passwordHash

  let claims = 0
  const claim = async (): Promise<boolean> => { claims++; return true }
  await t.rejects(users.setPassword(u.id, 'short', { claim }), { code: 'GK_INVALID_REQUEST' })
  await t.rejects(users.setPassword(u.id, 'setter', { claim }), { code: 'GK_INVALID_REQUEST' })
  t.equal(claims, 0, 'a refused password never reaches claim')
  t.equal(await users.setPassword(u.id, 'a whole new passphrase', { claim: async () => false }), false)
  t.equal((await app.gatekeeper.store.users.findById(u.id))?.passwordHash, before, 'claim said no: nothing changed')
  t.same(events, [])
  t.equal(await users.setPassword(u.id, 'a whole new passphrase', { claim, reason: 'password_reset' }), true)
  t.equal(claims, 1)
  t.not((await app.gatekeeper.store.users.findById(u.id))?.passwordHash, before)
  t.equal((await app.gatekeeper.store.refreshTokens.findFamily(family.id))?.revokeReason, 'password_reset')
  t.match(events, [{ type: 'password.changed', outcome: 'success', userId: u.id, method: 'password_reset', sessionsRevoked: 1 }])
  const ok = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'setter', password: 'a whole new passphrase' } })
  t.equal(ok.statusCode, 200)
  await t.rejects(users.setPassword('nobody', 'a whole new passphrase'), { code: 'GK_NOT_FOUND' })
})

t.test('role filters narrow the roles of login, refresh and checkUser alike; application tokens are untouched', async (t) => {
  for (const checkUser of [false, true]) {
    const { app } = await jwtApp({ checkUser, routes: { register: false } })
    t.teardown(() => app.close())
    await app.register(refresh, { transport: 'body' })
    app.gatekeeper.jwt.addRoleFilter((user, roles) => user.username === 'limited' ? roles.filter((r) => r === 'reader') : roles)
    t.throws(() => app.gatekeeper.jwt.addRoleFilter(null as never), { code: 'GK_CONFIG' })
    await app.ready()
    await app.gatekeeper.users.create({ username: 'limited', password: PASSWORD, roles: ['reader', 'admin'] })
    await app.gatekeeper.users.create({ username: 'free', password: PASSWORD, roles: ['reader', 'admin'] })
    const login = async (username: string): Promise<{ accessToken: string, refreshToken: string }> =>
      (await app.inject({ method: 'POST', url: '/api/login', payload: { username, password: PASSWORD } })).json()
    const l = await login('limited')
    const f = await login('free')
    const me = async (token: string): Promise<unknown> => (await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })).json().roles
    t.same(await me(l.accessToken), ['reader'], `checkUser ${checkUser}: login`)
    t.same(await me(f.accessToken), ['reader', 'admin'])
    const r = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: l.refreshToken } })
    t.same(await me(r.json().accessToken), ['reader'], `checkUser ${checkUser}: refresh`)
    const app2 = await app.gatekeeper.tokens.issue({ id: 'svc', roles: ['admin'] }, { kind: 'application', scopes: [] })
    t.same((await app.gatekeeper.tokens.verify(app2.accessToken)).roles, ['admin'])
  }
})

t.test('forgetUser makes checkUser read the user again', async (t) => {
  const { app } = await jwtApp({ checkUser: { cacheTtl: '5m' } })
  t.teardown(() => app.close())
  let limited = false
  app.gatekeeper.jwt.addRoleFilter((_user, roles) => limited ? [] : roles)
  await app.gatekeeper.users.create({ username: 'cached', password: PASSWORD, roles: ['admin'] })
  const { accessToken } = (await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'cached', password: PASSWORD } })).json()
  const roles = async (): Promise<unknown> => (await app.inject({ url: '/me', headers: { authorization: `Bearer ${accessToken}` } })).json().roles
  t.same(await roles(), ['admin'])
  limited = true
  t.same(await roles(), ['admin'], 'cached for five minutes')
  app.gatekeeper.jwt.forgetUser('someone-else')
  const id = (await app.gatekeeper.store.users.findByLogin('cached'))?.id as string
  app.gatekeeper.jwt.forgetUser(id)
  t.same(await roles(), [], 'read again at once')
})
