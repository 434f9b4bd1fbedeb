import t from 'tap'
import { auditSweep, bearer, createUser, login, PASSWORD, remember, securityApp } from './helpers.js'

// Attack (issue: "POST /api/password is an unlimited password oracle"): a stolen access token
// let an attacker evaluate 40 of 40 guesses of currentPassword, and the right one took the account.
const MIN = 60_000
const guess = (i: number): string => remember(`${PASSWORD}-guess-${i}`)

async function change (app: Awaited<ReturnType<typeof securityApp>>['app'], token: string, currentPassword: string, ip = '203.0.113.40') {
  return await app.inject({ method: 'POST', url: '/api/password', headers: bearer(token), remoteAddress: ip, payload: { currentPassword, newPassword: remember(`New-${currentPassword}-x`) } })
}

t.test('guesses of currentPassword are limited like logins: lockout, Retry-After, one login.locked event, no argon2 past the limit', async (t) => {
  const { app, clock } = await securityApp({ core: { bruteForce: { ip: { max: 1000 } } } })
  t.teardown(() => app.close())
  const aliceId = await createUser(app, 'alice')
  const token = (await login(app, 'alice')).body.accessToken as string
  const passwords = app.gatekeeper.passwords as unknown as Record<string, (...a: unknown[]) => Promise<boolean>>
  let hashings = 0
  for (const name of ['verify', 'dummyVerify']) {
    const original = (passwords[name] as (...a: unknown[]) => Promise<boolean>).bind(passwords)
    passwords[name] = async (...args: unknown[]) => { hashings++; return await original(...args) }
  }
  const events: Array<Record<string, unknown>> = []
  app.gatekeeper.on('audit', (e) => { events.push(e as unknown as Record<string, unknown>) })

  const statuses: number[] = []
  for (let i = 0; i < 40; i++) statuses.push((await change(app, token, guess(i))).statusCode)
  t.same(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'the first five guesses are checked')
  t.ok(statuses.slice(5).every((s) => s === 429), 'the other 35 are refused')
  t.equal(hashings, 5, 'argon2 ran five times, not forty')
  const right = await change(app, token, PASSWORD)
  t.equal(right.statusCode, 429, 'the right password during the lockout does not change it')
  t.equal(right.json().code, 'GK_ACCOUNT_LOCKED')
  t.equal(right.headers['retry-after'], '60')
  const locked = events.filter((e) => e.type === 'login.locked')
  t.same(locked.map((e) => [e.scope, e.userId, e.lockedFor]), [['account', aliceId, 60]], 'one login.locked event')
  t.equal(events.filter((e) => e.type === 'password.changed' && e.outcome === 'failure').length, 5, 'each checked guess is a password.changed failure')
  const login429 = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(login429.statusCode, 429, 'the lockout is the account\'s: logins are refused too')
  clock.now += MIN
  t.equal((await change(app, token, PASSWORD)).statusCode, 204, 'after the lockout the right password changes it')
})

t.test('password-change failures and login failures count together, per account and per address', async (t) => {
  const { app } = await securityApp({ core: { bruteForce: { ip: { max: 1000 } } } })
  t.teardown(() => app.close())
  await createUser(app, 'bob')
  const token = (await login(app, 'bob')).body.accessToken as string
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'Bob', password: guess(100 + i) } })
    t.equal(res.statusCode, 401, `wrong login ${i + 1}`)
  }
  t.equal((await change(app, token, guess(200))).statusCode, 401, 'a wrong current password: the fourth failure')
  t.equal((await change(app, token, guess(201))).statusCode, 401, 'the fifth locks')
  t.equal((await change(app, token, PASSWORD)).statusCode, 429)
  t.equal((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'bob', password: PASSWORD } })).statusCode, 429)

  const { app: app2 } = await securityApp({ core: { bruteForce: { ip: { max: 3 } } } })
  t.teardown(() => app2.close())
  await createUser(app2, 'carol')
  const carol = (await login(app2, 'carol')).body.accessToken as string
  for (let i = 0; i < 3; i++) t.equal((await change(app2, carol, guess(300 + i), '198.51.100.9')).statusCode, 401)
  t.equal((await change(app2, carol, PASSWORD, '198.51.100.9')).statusCode, 429, 'the address limit applies too')
  t.equal((await change(app2, carol, PASSWORD, '198.51.100.10')).statusCode, 204, 'from another address the right password works')
})

auditSweep(t)
