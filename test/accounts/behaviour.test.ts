import t from 'tap'
import type { AuditEvent } from '../../lib/core/types.js'
import { accountsApp, createUser, login, NEW_PASSWORD, PASSWORD, post } from './helpers.js'
import { outbox, tokenOf } from './smtp.js'

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
const events = (app: { gatekeeper: { on: (e: 'audit', fn: (x: AuditEvent) => void) => unknown } }): AuditEvent[] => {
  const list: AuditEvent[] = []
  app.gatekeeper.on('audit', (e) => list.push(e))
  return list
}

t.test("requireVerifiedEmail: 'login' refuses the right password until the address is verified", async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send, requireVerifiedEmail: 'login' } })
  t.teardown(() => app.close())
  const audit = events(app)
  await post(app, '/api/register', { username: 'una', password: PASSWORD, email: 'una@example.org' })
  for (let i = 0; i < 7; i++) {
    const res = await login(app, 'una')
    t.equal(res.status, 403, `attempt ${i + 1}: refused, and never locked out by its own right password`)
    t.equal(res.body.code, 'GK_EMAIL_NOT_VERIFIED')
  }
  t.equal((await login(app, 'una', 'a wrong password')).status, 401, 'a wrong password is still the plain 401: the 403 needs the password')
  t.match(audit.filter((e) => e.type === 'login.failure' && e.reason === 'GK_EMAIL_NOT_VERIFIED').length, 7)
  await app.gatekeeper.accounts?.idle()
  const mail = box.mails.find((m) => m.kind === 'email_verification')
  t.ok(mail, 'the verification mail went out at registration')
  t.equal((await post(app, '/api/email/verify', { token: tokenOf(mail?.url as string) })).status, 204)
  t.equal((await login(app, 'una')).status, 200)
  // A seeded account with no address at all cannot verify one: it is refused too.
  await app.gatekeeper.users.create({ username: 'noaddr', password: PASSWORD })
  t.equal((await login(app, 'noaddr')).status, 403)
})

t.test('requireVerifiedEmail: { role } narrows tokens to that role until verified, at login, refresh and with checkUser', async (t) => {
  for (const checkUser of [false, true]) {
    const box = outbox()
    const { app } = await accountsApp({ accounts: { send: box.send, requireVerifiedEmail: { role: 'unverified' } }, jwt: { checkUser } })
    t.teardown(() => app.close())
    await createUser(app, 'vic', 'vic@example.org')
    const s = await login(app, 'vic')
    t.equal(s.status, 200)
    const roles = async (token: string): Promise<unknown> => (await app.inject({ url: '/me', headers: bearer(token) })).json().roles
    t.same(await roles(s.body.accessToken), ['unverified'], `checkUser ${checkUser}: login`)
    const r1 = await post(app, '/api/token/refresh', { refreshToken: s.body.refreshToken })
    t.same(await roles(r1.body.accessToken), ['unverified'], 'refresh does not restore the roles')
    t.equal(await app.gatekeeper.accounts?.requestVerification((await app.gatekeeper.store.users.findByLogin('vic'))?.id as string), true)
    await post(app, '/api/email/verify', { token: tokenOf(box.mails.at(-1)?.url as string) })
    t.same(await roles(r1.body.accessToken), checkUser ? ['user'] : ['unverified'], checkUser ? 'checkUser: at once' : 'without checkUser: the token keeps its roles until it expires')
    const r2 = await post(app, '/api/token/refresh', { refreshToken: r1.body.refreshToken })
    t.same(await roles(r2.body.accessToken), ['user'], 'the next refresh carries the full roles')
  }
})

t.test('verifyOnRegister: false sends nothing at registration; resend does, within the limit', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send, verifyOnRegister: false, limits: { perAccount: { max: 2 } } } })
  t.teardown(() => app.close())
  await post(app, '/api/register', { username: 'quiet@example.org', password: PASSWORD })
  await app.gatekeeper.accounts?.idle()
  t.same(box.mails, [])
  for (let i = 0; i < 4; i++) t.equal((await post(app, '/api/email/verify/resend', { username: 'quiet@example.org' })).status, 202)
  await app.gatekeeper.accounts?.idle()
  t.equal(box.mails.length, 2, 'two mails, then the per-account limit')
  const [first, second] = box.mails.map((m) => tokenOf(m.url))
  t.equal((await post(app, '/api/email/verify', { token: first })).status, 401, 'the newer mail replaced the older link')
  t.equal((await post(app, '/api/email/verify', { token: second })).status, 204)
})

t.test('reset tokens die with a newer request, with any password change, and with a change of address', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send, limits: { perAccount: { max: 100 } } } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'pat', 'pat@example.org', true)
  const forgot = async (): Promise<string> => {
    await post(app, '/api/password/forgot', { email: 'pat@example.org' })
    await app.gatekeeper.accounts?.idle()
    return tokenOf(box.mails.filter((m) => m.kind === 'password_reset').at(-1)?.url as string)
  }
  const reset = async (token: string, pw = NEW_PASSWORD): Promise<number> => (await post(app, '/api/password/reset', { token, newPassword: pw })).status
  const older = await forgot()
  const newer = await forgot()
  t.equal(await reset(older), 401, 'a newer request voids the older link')

  const s = await login(app, 'pat')
  t.equal((await post(app, '/api/password', { currentPassword: PASSWORD, newPassword: 'changed the usual way' }, bearer(s.body.accessToken))).status, 204)
  await app.gatekeeper.accounts?.idle()
  t.equal(await reset(newer), 401, 'a password change voids pending links')
  t.ok(box.mails.some((m) => m.kind === 'password_changed'), 'and mails a notice')

  const third = await forgot()
  await app.gatekeeper.store.users.update(id, { email: 'pat@elsewhere.example' })
  t.equal(await reset(third), 401, 'a link mailed to an address the account no longer has is dead')
})

t.test('a password the policy refuses leaves the token usable; a disabled account cannot reset', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'ria', 'ria@example.org')
  await app.gatekeeper.accounts?.requestPasswordReset({ username: 'ria' })
  const token = tokenOf(box.mails[0]?.url as string)
  for (const weak of ['short', 'password', 'ria']) {
    const res = await post(app, '/api/password/reset', { token, newPassword: weak })
    t.equal(res.status, 400, weak)
    t.equal(res.body.code, 'GK_INVALID_REQUEST')
  }
  t.equal((await post(app, '/api/password/reset', { token, newPassword: NEW_PASSWORD })).status, 204, 'the token survived the refusals')

  await app.gatekeeper.accounts?.requestPasswordReset({ email: 'ria@example.org' })
  await app.gatekeeper.users.disable(id)
  t.equal((await post(app, '/api/password/reset', { token: tokenOf(box.mails.at(-1)?.url as string), newPassword: 'another passphrase' })).status, 401)
  t.equal(await app.gatekeeper.accounts?.requestPasswordReset({ username: 'ria' }), false, 'no mail to a disabled account')
})

t.test('no mail for an account without an address; an account without a password gets one set', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  await createUser(app, 'nomail', null)
  t.equal(await app.gatekeeper.accounts?.requestPasswordReset({ username: 'nomail' }), false)
  await app.gatekeeper.users.create({ username: 'sso', password: null, email: 'sso@example.org' })
  t.equal(await app.gatekeeper.accounts?.requestPasswordReset({ username: 'sso' }), true)
  t.equal((await post(app, '/api/password/reset', { token: tokenOf(box.mails[0]?.url as string), newPassword: NEW_PASSWORD })).status, 204)
  t.equal((await login(app, 'sso', NEW_PASSWORD)).status, 200)
})

t.test('email change: a taken address gets no mail; one taken meanwhile is a 409 at confirmation', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'ann', 'ann@example.org', true)
  await createUser(app, 'bea', 'bea@example.org', true)
  const s = await login(app, 'ann')
  const change = async (newEmail: string): Promise<{ status: number, body: any }> => await post(app, '/api/email/change', { newEmail, password: PASSWORD }, bearer(s.body.accessToken))
  t.equal((await change('BEA@example.org')).status, 202, 'the same answer for a taken address')
  await app.gatekeeper.accounts?.idle()
  t.same(box.mails, [], 'but no mail')
  t.equal((await change('ann@example.org')).body.code, 'GK_INVALID_REQUEST', 'the current address is not a change')
  t.equal((await change('not an address')).body.code, 'GK_INVALID_REQUEST')
  t.equal((await change('free@example.org')).status, 202)
  await app.gatekeeper.accounts?.idle()
  const token = tokenOf(box.mails[0]?.url as string)
  await createUser(app, 'cat', 'FREE@example.org')
  const late = await post(app, '/api/email/verify', { token })
  t.equal(late.status, 409)
  t.equal(late.body.code, 'GK_CONFLICT')
  t.match(await app.gatekeeper.store.users.findById(id), { email: 'ann@example.org' })
})

t.test('email change needs the password: an account without one, and brute force, are refused', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  const sso = await app.gatekeeper.users.create({ username: 'sso', password: null, email: 'sso@example.org' })
  const tokens = await app.gatekeeper.tokens.issue({ id: sso.id, roles: ['user'] })
  t.equal((await post(app, '/api/email/change', { newEmail: 'x@example.org', password: PASSWORD }, bearer(tokens.accessToken))).status, 401)
  await createUser(app, 'dan', 'dan@example.org', true)
  const s = await login(app, 'dan')
  const statuses: number[] = []
  for (let i = 0; i < 7; i++) statuses.push((await post(app, '/api/email/change', { newEmail: 'd@example.org', password: `guess-${i}-guess` }, bearer(s.body.accessToken))).status)
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429], 'the login lockout counts these guesses')
  t.equal((await login(app, 'dan')).status, 429, 'and locks the login too')
  const apiKeyLike = await app.gatekeeper.tokens.issue({ id: 'svc', roles: [] }, { kind: 'application', scopes: [] })
  t.equal((await post(app, '/api/email/change', { newEmail: 'x@example.org', password: PASSWORD }, bearer(apiKeyLike.accessToken))).status, 403, 'an application has no address to change')
})

t.test('a verification token for an address the user no longer has is refused', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'eve', 'eve@example.org')
  await app.gatekeeper.accounts?.requestVerification(id)
  await app.gatekeeper.store.users.update(id, { email: 'eve@other.example' })
  t.equal((await post(app, '/api/email/verify', { token: tokenOf(box.mails[0]?.url as string) })).status, 401)
  t.match(await app.gatekeeper.store.users.findById(id), { emailVerifiedAt: null })
})

t.test('a send hook that fails: the answer is the same, the failure is logged without the token and audited', async (t) => {
  const lines: string[] = []
  let leaked = ''
  const { app } = await accountsApp({
    accounts: {
      send: async (mail) => {
        leaked = tokenOf(mail.url)
        throw new Error(`550 mailbox full for ${mail.to}: ${mail.url}`)
      }
    }
  })
  t.teardown(() => app.close())
  app.log.error = ((obj: unknown, msg: string) => { lines.push(JSON.stringify(obj) + msg) }) as typeof app.log.error
  const audit = events(app)
  await createUser(app, 'fay', 'fay@example.org')
  t.equal((await post(app, '/api/password/forgot', { username: 'fay' })).status, 202)
  await app.gatekeeper.accounts?.idle()
  t.ok(leaked.length === 43)
  t.match(lines.join('\n'), /could not be sent/)
  t.notMatch(lines.join('\n'), new RegExp(leaked), 'the token is scrubbed from the logged message')
  t.same(audit.filter((e) => e.type !== 'user.created').map((e) => [e.type, e.outcome, e.cause]), [['account.mail_failed', 'failure', undefined], ['password.reset_requested', 'failure', 'mail_failed']])
})

t.test('purge deletes expired tokens; closing the app waits for mails in flight', async (t) => {
  let release!: () => void
  let sending!: () => void
  const started = new Promise<void>((resolve) => { sending = resolve })
  const sent: string[] = []
  const { app, clock } = await accountsApp({
    accounts: {
      send: async (mail) => {
        await new Promise<void>((resolve) => { release = resolve; sending() })
        sent.push(mail.kind)
      }
    }
  })
  await createUser(app, 'gus', 'gus@example.org')
  await post(app, '/api/password/forgot', { username: 'gus' })
  await started
  clock.now += 3_600_001
  t.equal(await app.gatekeeper.accounts?.purge(), 1)
  const closing = app.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(sent, [], 'still sending')
  release()
  await closing
  t.same(sent, ['password_reset'], 'sent before the store closed')
})

t.test('a revert to an address another account took meanwhile is a 409, and the link stays usable', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'hal', 'hal@example.org', true)
  await app.gatekeeper.accounts?.requestEmailChange(id, 'hal@new.example')
  await post(app, '/api/email/verify', { token: tokenOf(box.mails[0]?.url as string) })
  const revert = tokenOf(box.mails.find((m) => m.kind === 'email_changed')?.url as string)
  const squatter = await createUser(app, 'squat', 'HAL@example.org')
  const res = await post(app, '/api/email/revert', { token: revert })
  t.equal(res.status, 409)
  t.equal(res.body.code, 'GK_CONFLICT')
  await app.gatekeeper.store.users.delete(squatter)
  t.equal((await post(app, '/api/email/revert', { token: revert })).status, 204, 'once the address is free again')
  t.match(await app.gatekeeper.store.users.findById(id), { email: 'hal@example.org' })
  await t.rejects(app.gatekeeper.accounts!.requestEmailChange(id, 'not an address'), { code: 'GK_INVALID_REQUEST' })
})

t.test('counters that fail: mail routes answer 503 (fail closed); a reset still succeeds when the lockout cannot be lifted', async (t) => {
  const box = outbox()
  const { app } = await accountsApp({ accounts: { send: box.send } })
  t.teardown(() => app.close())
  await createUser(app, 'ivy', 'ivy@example.org')
  await app.gatekeeper.accounts?.requestPasswordReset({ username: 'ivy' })
  const { MemoryCounterStore } = await import('../../lib/protection/counters.js')
  const hit = MemoryCounterStore.prototype.hit
  MemoryCounterStore.prototype.hit = async () => { throw new Error('counters down') }
  t.teardown(() => { MemoryCounterStore.prototype.hit = hit })
  const res = await post(app, '/api/password/forgot', { username: 'ivy' })
  t.equal(res.status, 503)
  t.equal(res.body.code, 'GK_STORE_UNAVAILABLE')
  MemoryCounterStore.prototype.hit = hit
  // A service is read through a getter: shadow it on this instance, then drop the shadow.
  Object.defineProperty(app.gatekeeper, 'protection', { configurable: true, value: { ...app.gatekeeper.protection, unlock: async () => { throw new Error('counters down') } } })
  t.teardown(() => { Reflect.deleteProperty(app.gatekeeper, 'protection') })
  t.equal((await post(app, '/api/password/reset', { token: tokenOf(box.mails[0]?.url as string), newPassword: NEW_PASSWORD })).status, 204)
  t.equal((await login(app, 'ivy', NEW_PASSWORD)).status, 200)
})

t.test('a purge that fails is logged and retried on the next tick of its timer', async (t) => {
  const box = outbox()
  const { app, store } = await accountsApp({ accounts: { send: box.send, purgeInterval: '1s' } })
  t.teardown(() => app.close())
  const warned: string[] = []
  app.log.warn = ((_obj: unknown, msg: string) => { warned.push(msg) }) as typeof app.log.warn
  let calls = 0
  let twice!: () => void
  const retried = new Promise<void>((resolve) => { twice = resolve })
  store.accountTokens!.deleteExpired = async () => {
    if (++calls === 2) twice()
    throw new Error('store down')
  }
  await retried
  t.ok(warned.includes('gatekeeper: account token purge failed; it will be retried'))
})
