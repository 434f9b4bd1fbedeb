import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { AuditEvent } from '../../lib/core/types.js'
import { PASSWORD, jwtApp, loginAs } from './helpers.js'

async function session (app: FastifyInstance, userId: string): Promise<string> {
  const at = new Date(app.gatekeeper.now() + 86_400_000)
  const { family } = await app.gatekeeper.store.refreshTokens.createFamily({ userId, expiresAt: at }, { hash: `h-${Math.random()}`, expiresAt: at })
  return family.id
}

async function revokeReason (app: FastifyInstance, familyId: string): Promise<string | null | undefined> {
  return (await app.gatekeeper.store.refreshTokens.findFamily(familyId))?.revokeReason
}

function audit (app: FastifyInstance): AuditEvent[] {
  const events: AuditEvent[] = []
  app.gatekeeper.on('audit', (e: AuditEvent) => events.push(e))
  return events
}

const login = (username: string, password: string) => ({ method: 'POST' as const, url: '/api/login', payload: { username, password } })

t.test('users.create hashes the password, never returns the hash, and records user.created', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const events = audit(app)
  const user = await app.gatekeeper.users!.create({ username: '  Zoë  ', password: PASSWORD, roles: ['editor', 'editor'] })
  t.match(user, { username: 'Zoë', roles: ['editor'], disabled: false })
  t.notOk('passwordHash' in user)
  const stored = await app.gatekeeper.store.users.findById(user.id)
  t.match(stored?.passwordHash, /^\$argon2id\$/)
  t.match(events, [{ type: 'user.created', userId: user.id, roles: ['editor'] }])
  await t.rejects(app.gatekeeper.users!.create({ username: 'zoë', password: PASSWORD }), { code: 'GK_CONFLICT' })
})

t.test('users.create refuses bad input with GK_INVALID_REQUEST (table)', async (t) => {
  const { app } = await jwtApp({ password: { blocklist: ['acme-corp'] } })
  t.teardown(() => app.close())
  const rows: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a short password', { username: 'a', password: 'short' }, /at least 8/],
    ['a long password', { username: 'a', password: 'x'.repeat(129) }, /at most 128/],
    ['a common password', { username: 'a', password: 'Password123' }, /too common/],
    ['a blocklisted word', { username: 'a', password: 'ACME-CORP' }, /too common/],
    ['the username as password', { username: 'longusername', password: 'LongUserName' }, /differ from the username/],
    ['an empty username', { username: '   ', password: PASSWORD }, /username/],
    ['a username with a control character', { username: 'a\u0000b', password: PASSWORD }, /username/],
    ['a username over 254 characters', { username: 'u'.repeat(255), password: PASSWORD }, /username/],
    ['a username that is not a string', { username: 5, password: PASSWORD }, /username/],
    ['roles that are not strings', { username: 'a', password: PASSWORD, roles: [1] }, /roles/],
    ['no object at all', null as never, /user must be an object/]
  ]
  for (const [name, input, message] of rows) {
    await t.rejects(app.gatekeeper.users!.create(input as never), { code: 'GK_INVALID_REQUEST', statusCode: 400, message }, name)
  }
})

t.test('users.create calls isBreached and refuses breached passwords', async (t) => {
  const { app } = await jwtApp({ password: { isBreached: (pw) => pw === 'in a breach corpus' } })
  t.teardown(() => app.close())
  await t.rejects(app.gatekeeper.users!.create({ username: 'a', password: 'in a breach corpus' }), { code: 'GK_INVALID_REQUEST', message: /breach/ })
  t.ok(await app.gatekeeper.users!.create({ username: 'a', password: PASSWORD }))
})

t.test('setRoles changes the roles of new tokens, revokes sessions and records user.roles_changed', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const events = audit(app)
  const { id } = await loginAs(app, 'alice', ['user'])
  const family = await session(app, id)
  const user = await app.gatekeeper.users!.setRoles(id, ['admin'])
  t.same(user.roles, ['admin'])
  t.equal(await revokeReason(app, family), 'roles_changed')
  t.match(events.find((e) => e.type === 'user.roles_changed'), { userId: id, from: ['user'], to: ['admin'], sessionsRevoked: 1 })
  const res = await app.inject(login('alice', PASSWORD))
  t.match((await app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().accessToken}` } })).json(), { roles: ['admin'] })
  await t.rejects(app.gatekeeper.users!.setRoles('nobody', ['x']), { code: 'GK_NOT_FOUND' })
  await t.rejects(app.gatekeeper.users!.setRoles(id, 'admin' as never), { code: 'GK_INVALID_REQUEST' })
})

t.test('disable makes login fail like a wrong password and revokes sessions', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { id } = await loginAs(app)
  const family = await session(app, id)
  t.match(await app.gatekeeper.users!.disable(id), { disabled: true })
  t.equal(await revokeReason(app, family), 'disabled')
  const res = await app.inject(login('alice', PASSWORD))
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_INVALID_CREDENTIALS')
  await t.rejects(app.gatekeeper.users!.disable('nobody'), { code: 'GK_NOT_FOUND' })
})

t.test('changePassword needs the current password, applies the policy and revokes sessions', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const events = audit(app)
  const users = app.gatekeeper.users!
  const { id } = await loginAs(app)
  const family = await session(app, id)
  await t.rejects(users.changePassword(id, 'wrong current', 'a brand new passphrase'), { code: 'GK_INVALID_CREDENTIALS' })
  await t.rejects(users.changePassword('nobody', PASSWORD, 'a brand new passphrase'), { code: 'GK_INVALID_CREDENTIALS' })
  await t.rejects(users.changePassword(id, PASSWORD, 'password'), { code: 'GK_INVALID_REQUEST' })
  t.equal(await revokeReason(app, family), null, 'nothing revoked by failed attempts')
  await users.changePassword(id, PASSWORD, 'a brand new passphrase')
  t.equal(await revokeReason(app, family), 'password_change')
  t.equal((await app.inject(login('alice', PASSWORD))).statusCode, 401)
  t.equal((await app.inject(login('alice', 'a brand new passphrase'))).statusCode, 200)
  t.match(events.filter((e) => e.type === 'password.changed').map((e) => e.outcome), ['failure', 'failure', 'success'])
})

t.test('the register route is off by default', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'a', password: PASSWORD } })
  t.equal(res.statusCode, 404)
})

t.test('the register route creates accounts with the default roles', async (t) => {
  const { app } = await jwtApp({ routes: { register: true }, defaultRoles: ['reader'] })
  t.teardown(() => app.close())
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/register', payload: payload as object })
  const res = await post({ username: 'dave', password: PASSWORD })
  t.equal(res.statusCode, 201)
  t.match(res.json(), { username: 'dave', roles: ['reader'] })
  t.same(Object.keys(res.json()).sort(), ['id', 'roles', 'username'])
  t.equal((await app.inject(login('dave', PASSWORD))).statusCode, 200)
  const rows: Array<[string, unknown, number, string]> = [
    ['a taken name', { username: 'DAVE', password: PASSWORD }, 409, 'GK_CONFLICT'],
    ['a weak password', { username: 'erin', password: '12345678' }, 400, 'GK_INVALID_REQUEST'],
    ['a password that is a number', { username: 'erin', password: 12345678 }, 400, 'GK_INVALID_REQUEST'],
    ['a short password', { username: 'erin', password: 'short' }, 400, 'GK_INVALID_REQUEST']
  ]
  for (const [name, payload, status, code] of rows) {
    const r = await post(payload)
    t.equal(r.statusCode, status, name)
    t.equal(r.json().code, code, name)
  }
  const smuggled = await post({ username: 'frank', password: PASSWORD, roles: ['admin'] })
  t.match(smuggled.json(), { roles: ['reader'] }, 'roles in the body are ignored')
})

t.test('the password route changes the password of the caller', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app)
  const family = await session(app, id)
  const change = (payload: unknown, auth: string | null = token) => app.inject({
    method: 'POST',
    url: '/api/password',
    payload: payload as object,
    headers: auth === null ? {} : { authorization: `Bearer ${auth}` }
  })
  const rows: Array<[string, unknown, string | null, number, string]> = [
    ['no token', { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, null, 401, 'GK_UNAUTHORIZED'],
    ['a wrong current password', { currentPassword: 'nope nope', newPassword: 'a brand new passphrase' }, token, 401, 'GK_INVALID_CREDENTIALS'],
    ['a common new password', { currentPassword: PASSWORD, newPassword: 'qwerty123' }, token, 400, 'GK_INVALID_REQUEST'],
    ['a missing field', { currentPassword: PASSWORD }, token, 400, 'GK_INVALID_REQUEST']
  ]
  for (const [name, payload, auth, status, code] of rows) {
    const r = await change(payload, auth)
    t.equal(r.statusCode, status, name)
    t.equal(r.json().code, code, name)
  }
  const ok = await change({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' })
  t.equal(ok.statusCode, 204)
  t.equal(await revokeReason(app, family), 'password_change')
  t.equal((await app.inject(login('alice', 'a brand new passphrase'))).statusCode, 200)
  const appToken = (await app.gatekeeper.tokens!.issue({ id, roles: [] }, { kind: 'application' })).accessToken
  t.equal((await change({ currentPassword: 'a brand new passphrase', newPassword: 'another new passphrase' }, appToken)).statusCode, 403, 'not for application tokens')
})

t.test('logout runs the logout extensions, records the caller and works with an expired token', async (t) => {
  const { app, clock } = await jwtApp()
  t.teardown(() => app.close())
  const events = audit(app)
  const seen: Array<string | null> = []
  app.gatekeeper.jwt!.addLogoutExtension(async (request, reply) => {
    seen.push(request.auth?.subject ?? null)
    reply.header('x-extension', 'ran')
  })
  t.throws(() => app.gatekeeper.jwt!.addLogoutExtension(null as never), { code: 'GK_CONFIG' })
  const { token, id } = await loginAs(app)
  const res = await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['x-extension'], 'ran')
  t.equal(res.headers['set-cookie'], undefined)
  clock.now += 3_600_000
  const expired = await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${token}` } })
  t.equal(expired.statusCode, 204)
  const anonymous = await app.inject({ method: 'POST', url: '/api/logout' })
  t.equal(anonymous.statusCode, 204)
  t.same(seen, [id, null, null])
  t.match(events.filter((e) => e.type === 'logout'), [{ subject: id }, { subject: null }, { subject: null }])
})

t.test('routes: false registers no route; the decorators still work', async (t) => {
  const { app } = await jwtApp({ routes: false })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'POST', url: '/api/login', payload: {} })).statusCode, 404)
  const user = await app.gatekeeper.users!.create({ username: 'a', password: PASSWORD })
  const issued = await app.gatekeeper.tokens!.issue({ id: user.id, roles: user.roles })
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${issued.accessToken}` } })).statusCode, 200)
})

t.test('routes follow the prefix option', async (t) => {
  const { app } = await jwtApp({ routes: { prefix: '/auth', login: '/sign-in', register: '/sign-up' } })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'POST', url: '/auth/sign-up', payload: { username: 'a', password: PASSWORD } })).statusCode, 201)
  t.equal((await app.inject({ method: 'POST', url: '/auth/sign-in', payload: { username: 'a', password: PASSWORD } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout' })).statusCode, 204)
})
