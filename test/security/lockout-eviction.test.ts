import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { auditSweep, createUser, PASSWORD, remember, securityApp } from './helpers.js'

// Attack (issue: "a flood of failures on junk accounts evicts a lockout"): the brute-force counters
// were one LRU; 80 failures on junk accounts (maxKeys at its minimum, 100) pushed alice's lock out
// and her password then worked. Active locks and the hard-cap history must survive other keys' traffic.
const WRONG = remember(`${PASSWORD}-evict`)

/** argon2 replaced by an exact comparison of the same contract, so a flood of thousands of logins takes seconds. */
function fastPasswords (app: FastifyInstance, hash: string): void {
  const passwords = app.gatekeeper.passwords as unknown as Record<string, unknown>
  passwords.verify = async (h: string, password: string) => h === hash && password === PASSWORD
  passwords.dummyVerify = async () => false
}

const login = (app: FastifyInstance, username: string, password: string, ip = '198.51.100.1') =>
  app.inject({ method: 'POST', url: '/api/login', remoteAddress: ip, payload: { username, password } })

/** `n` failed logins on distinct junk accounts from rotating addresses. */
async function flood (app: FastifyInstance, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await login(app, `junk-${tag}-${i}`, WRONG, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
    if (res.statusCode !== 401) throw new Error(`flood login ${i}: ${res.statusCode}`)
  }
}

t.test('an active lock survives a flood of failures on junk accounts (maxKeys at its minimum)', async (t) => {
  const { app, clock } = await securityApp({ core: { bruteForce: { maxKeys: 100, credentialStuffing: false } } })
  t.teardown(() => app.close())
  await createUser(app, 'alice')
  fastPasswords(app, (await app.gatekeeper.store.users.findByLogin('alice'))!.passwordHash!)
  for (let i = 0; i < 5; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401)
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 429, 'locked')
  await flood(app, 2000, 'a')
  const res = await login(app, 'alice', PASSWORD)
  t.equal(res.statusCode, 429, 'still locked after 2,000 failures on junk accounts')
  t.ok(Number(res.headers['retry-after']) > 0 && Number(res.headers['retry-after']) <= 60)
  const counters = app.gatekeeper.protection.counters as unknown as { size?: number }
  t.ok((counters.size ?? 0) <= 100, `memory stays bounded: ${counters.size} keys held for maxKeys 100`)
  clock.now += 60_000
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'free at the announced time')
})

t.test('the hard-cap history and the back-off survive a flood', async (t) => {
  const { app, clock } = await securityApp({
    core: { bruteForce: { maxKeys: 100, credentialStuffing: false, account: { max: 3 }, hardCap: 9, lockout: { base: '1m', factor: 2, max: '1h' } } }
  })
  t.teardown(() => app.close())
  await createUser(app, 'alice')
  fastPasswords(app, (await app.gatekeeper.store.users.findByLogin('alice'))!.passwordHash!)
  // Two lockouts (1 min, 2 min): six consecutive failures, back-off level 2.
  for (const length of [60, 120]) {
    for (let i = 0; i < 3; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401)
    t.equal((await login(app, 'alice', PASSWORD)).headers['retry-after'], String(length))
    clock.now += length * 1000
  }
  await flood(app, 2000, 'b')
  for (let i = 0; i < 3; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401)
  t.equal((await login(app, 'alice', PASSWORD)).headers['retry-after'], '3600', 'the ninth consecutive failure reaches the hard cap: lockout.max, not a forgotten streak')
})

auditSweep(t)
