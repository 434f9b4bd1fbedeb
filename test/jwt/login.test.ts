import { Writable } from 'node:stream'
import argon2 from 'argon2'
import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import { parsePhc } from '../../lib/jwt/passwords.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { compareTimings } from '../helpers.js'
import { jwtApp, PASSWORD } from './helpers.js'

const FAILED = { statusCode: 401, code: 'GK_INVALID_CREDENTIALS', error: 'Unauthorized', message: 'Invalid username or password' }

function login (username: unknown, password: unknown): { method: 'POST', url: string, payload: Record<string, unknown> } {
  return { method: 'POST', url: '/api/login', payload: { username, password } }
}

t.test('a correct login answers { accessToken, tokenType, expiresIn } and is not cacheable', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const res = await app.inject(login('alice', PASSWORD))
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()).sort(), ['accessToken', 'expiresIn', 'tokenType'])
  t.match(res.json(), { tokenType: 'Bearer', expiresIn: 900 })
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['set-cookie'], undefined, 'no cookie unless the cookie transport is on')
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().accessToken}` } })
  t.equal(me.statusCode, 200)
})

t.test('usernames match case-insensitively after NFKC', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  await app.gatekeeper.users!.create({ username: 'Alice', password: PASSWORD })
  t.equal((await app.inject(login('ALICE', PASSWORD))).statusCode, 200)
  t.equal((await app.inject(login('\uFF41lice', PASSWORD))).statusCode, 200, 'fullwidth a is NFKC a')
})

t.test('malformed login bodies are 400 GK_INVALID_REQUEST (table)', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const json = { 'content-type': 'application/json' }
  const rows: Array<[string, Record<string, unknown>]> = [
    ['missing username', { payload: { password: PASSWORD } }],
    ['missing password', { payload: { username: 'alice' } }],
    ['username as a number', { payload: { username: 123, password: PASSWORD } }],
    ['username as an array', { payload: { username: ['alice'], password: PASSWORD } }],
    ['password as an array', { payload: { username: 'alice', password: [PASSWORD] } }],
    ['password as an object', { payload: { username: 'alice', password: { $ne: '' } } }],
    ['password as a boolean', { payload: { username: 'alice', password: true } }],
    ['password as null', { payload: { username: 'alice', password: null } }],
    ['empty username', { payload: { username: '', password: PASSWORD } }],
    ['empty password', { payload: { username: 'alice', password: '' } }],
    ['username of 255 characters', { payload: { username: 'a'.repeat(255), password: PASSWORD } }],
    ['password of 129 characters', { payload: { username: 'alice', password: 'p'.repeat(129) } }],
    ['password of 129 emoji', { payload: { username: 'alice', password: '😀'.repeat(129) } }],
    ['a body that is an array', { payload: JSON.stringify([{ username: 'alice', password: PASSWORD }]), headers: json }],
    ['a body that is a string', { payload: JSON.stringify('alice'), headers: json }],
    ['invalid JSON', { payload: '{"username": "alice",', headers: json }],
    ['an empty JSON body', { payload: '', headers: json }],
    ['a form body', { payload: 'username=alice&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['a body over 8 KiB', { payload: { username: 'alice', password: PASSWORD, pad: 'x'.repeat(9000) } }]
  ]
  for (const [name, req] of rows) {
    const res = await app.inject({ method: 'POST', url: '/api/login', ...req })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'GK_INVALID_REQUEST', name)
  }
})

t.test('unknown user, wrong password, disabled and password-less accounts get the same 401', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const users = app.gatekeeper.users!
  await users.create({ username: 'alice', password: PASSWORD })
  const bob = await users.create({ username: 'bob', password: PASSWORD })
  await users.disable(bob.id)
  await users.create({ username: 'carol', password: null })
  const rows: Array<[string, unknown, unknown]> = [
    ['unknown user', 'mallory', PASSWORD],
    ['wrong password', 'alice', 'not the password'],
    ['disabled account with the right password', 'bob', PASSWORD],
    ['account without a password', 'carol', PASSWORD],
    ['password longer than the policy after NFKC', 'alice', '\uFDFA'.repeat(100)]
  ]
  const bodies = new Set<string>()
  for (const [name, username, password] of rows) {
    const res = await app.inject(login(username, password))
    t.equal(res.statusCode, 401, name)
    t.same(res.json(), FAILED, name)
    t.equal(res.headers['set-cookie'], undefined, name)
    bodies.add(res.body)
  }
  t.equal(bodies.size, 1, 'byte-identical bodies')
})

t.test('unknown users and wrong passwords take the same time (lower quartiles within 20 %)', async (t) => {
  // Without brute-force protection, which would lock the account after a few failures.
  const { app } = await jwtApp({}, { bruteForce: false })
  t.teardown(() => app.close())
  await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD })
  await app.inject(login('warm-up', 'x'))
  let n = 0
  const attempt = (username: string) => async (): Promise<void> => {
    const res = await app.inject(login(username, 'wrong password here'))
    if (res.statusCode !== 401) t.fail(`expected 401, got ${res.statusCode} ${res.body}`)
  }
  const r = await compareTimings(async () => await attempt(`nobody-${n++}`)(), attempt('alice'), { tries: 30, maxGap: 0.2 })
  t.comment(`lower quartiles: unknown user ${r.a.toFixed(1)} ms, wrong password ${r.b.toFixed(1)} ms (round ${r.rounds})`)
  t.ok(r.gap < 0.2, `lower quartiles ${r.a.toFixed(1)} and ${r.b.toFixed(1)} ms differ by less than 20 %`)
})

t.test('a hash with weaker parameters is upgraded at the next successful login', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 })
  const user = await app.gatekeeper.store.users.create({ username: 'legacy', passwordHash: weak, roles: [] })
  t.equal((await app.inject(login('legacy', 'wrong password'))).statusCode, 401)
  t.equal((await app.gatekeeper.store.users.findById(user.id))?.passwordHash, weak, 'not on a failed login')
  t.equal((await app.inject(login('legacy', PASSWORD))).statusCode, 200)
  const upgraded = (await app.gatekeeper.store.users.findById(user.id))?.passwordHash as string
  t.not(upgraded, weak)
  t.match(parsePhc(upgraded), { type: 'argon2id', memoryCost: 19456, timeCost: 2, parallelism: 1 })
  t.equal((await app.inject(login('legacy', PASSWORD))).statusCode, 200, 'the new hash verifies')
})

t.test('a failing hash upgrade does not fail the login', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 })
  await app.gatekeeper.store.users.create({ username: 'legacy', passwordHash: weak, roles: [] })
  app.gatekeeper.store.users.update = async () => { throw new Error('store down') }
  t.equal((await app.inject(login('legacy', PASSWORD))).statusCode, 200)
})

t.test('login guards run in order; before may refuse; onFailure and onSuccess see the user', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const alice = await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD })
  const calls: string[] = []
  const jwt = app.gatekeeper.jwt!
  jwt.addLoginGuard({
    before (_req, attempt) {
      calls.push(`1.before ${attempt.login}`)
      if (attempt.login === 'locked') throw new errors.GK_ACCOUNT_LOCKED()
    },
    onFailure (_req, attempt, user) { calls.push(`1.failure ${attempt.username} ${user === null ? 'unknown' : user.id}`) },
    onSuccess (_req, user) { calls.push(`1.success ${user.id} ${'passwordHash' in user}`) }
  })
  jwt.addLoginGuard({ before () { calls.push('2.before') } })
  t.equal((await app.inject(login('Alice', PASSWORD))).statusCode, 200)
  t.same(calls, ['1.before alice', '2.before', `1.success ${alice.id} false`])
  calls.length = 0
  t.equal((await app.inject(login('alice', 'wrong password'))).statusCode, 401)
  t.equal((await app.inject(login('nobody', 'wrong password'))).statusCode, 401)
  t.same(calls, ['1.before alice', '2.before', `1.failure alice ${alice.id}`, '1.before nobody', '2.before', '1.failure nobody unknown'])
  calls.length = 0
  const locked = await app.inject(login('locked', PASSWORD))
  t.equal(locked.statusCode, 429)
  t.equal(locked.json().code, 'GK_ACCOUNT_LOCKED', 'a guard error keeps its own code (not rewritten to invalid_request)')
  t.same(calls, ['1.before locked'], 'nothing runs after a refusing guard')
  t.throws(() => jwt.addLoginGuard(null as never), { code: 'GK_CONFIG' })
})

t.test('login extensions add fields; the token fields cannot be replaced', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD })
  app.gatekeeper.jwt!.addLoginExtension(async (user) => ({ refreshToken: `r-${user.username}`, refreshExpiresIn: 60, tokenType: 'Evil' }))
  app.gatekeeper.jwt!.addLoginExtension(() => undefined)
  const res = await app.inject(login('alice', PASSWORD))
  t.match(res.json(), { refreshToken: 'r-alice', refreshExpiresIn: 60, tokenType: 'Bearer' })
  t.throws(() => app.gatekeeper.jwt!.addLoginExtension('x' as never), { code: 'GK_CONFIG' })
})

t.test('audit events record logins without passwords or tokens, and logs never carry them', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const { app } = await jwtApp({}, {}, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const events: AuditEvent[] = []
  app.gatekeeper.on('audit', (e: AuditEvent) => events.push(e))
  const alice = await app.gatekeeper.users!.create({ username: 'alice', password: PASSWORD })
  const ok = await app.inject(login('alice', PASSWORD))
  await app.inject(login('alice', 'a wrong password'))
  await app.inject(login('nobody', 'a wrong password'))
  t.match(events.map((e) => [e.type, e.outcome]), [['user.created', 'success'], ['login.success', 'success'], ['login.failure', 'failure'], ['login.failure', 'failure']])
  t.match(events[1], { subject: alice.id, userId: alice.id })
  t.match(events[2], { reason: 'GK_INVALID_CREDENTIALS', cause: 'wrong_password', userId: alice.id })
  t.match(events[3], { reason: 'GK_INVALID_CREDENTIALS', cause: 'unknown_user', userId: null })
  const everything = JSON.stringify(events) + lines.join('')
  t.ok(lines.some((l) => l.includes('login.success')), 'events are logged')
  for (const secret of [PASSWORD, 'a wrong password', ok.json().accessToken, '$argon2id']) {
    t.notOk(everything.includes(secret), `no ${secret.slice(0, 10)}… in events or logs`)
  }
})
