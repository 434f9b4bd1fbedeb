import t from 'tap'
import { login, loginApp, PASSWORD, WRONG } from './helpers.js'

const MIN = 60_000
const LOCKED = { statusCode: 429, code: 'GK_ACCOUNT_LOCKED', error: 'Too Many Requests', message: 'Too many failed attempts, try again later' }

t.test('after account.max failures the account is locked: even the right password gets 429 with Retry-After', async (t) => {
  const { app, clock } = await loginApp({ bruteForce: { account: { max: 3 } } })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401, `failure ${i + 1}`)
  const locked = await login(app, 'alice', PASSWORD)
  t.equal(locked.statusCode, 429)
  t.same(locked.json(), LOCKED)
  t.equal(locked.headers['retry-after'], '60')
  clock.now += 59_000
  t.equal((await login(app, 'alice', PASSWORD)).headers['retry-after'], '1', 'Retry-After counts down with the clock')
  clock.now += 1000
  const ok = await login(app, 'alice', PASSWORD)
  t.equal(ok.statusCode, 200, 'the lockout is over')
  t.equal(ok.headers['retry-after'], undefined)
})

t.test('the back-off grows and success resets it', async (t) => {
  const { app, clock } = await loginApp({ bruteForce: { account: { max: 2 }, lockout: { base: '1m', factor: 3, max: '5m' } } })
  t.teardown(() => app.close())
  const lockouts: string[] = []
  for (let round = 0; round < 3; round++) {
    await login(app, 'alice', WRONG)
    await login(app, 'alice', WRONG)
    const res = await login(app, 'alice', PASSWORD)
    lockouts.push(String(res.headers['retry-after']))
    clock.now += Number(res.headers['retry-after']) * 1000
  }
  t.same(lockouts, ['60', '180', '300'], '1 min, 3 min, then capped at 5 min')
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
  await login(app, 'alice', WRONG)
  await login(app, 'alice', WRONG)
  t.equal((await login(app, 'alice', PASSWORD)).headers['retry-after'], '60', 'after a success the back-off starts over')
})

t.test('a locked unknown account answers exactly like a locked known one', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 2 } } })
  t.teardown(() => app.close())
  const answers = []
  for (const name of ['alice', 'nobody-by-this-name']) {
    await login(app, name, WRONG)
    await login(app, name, WRONG)
    const res = await login(app, name, PASSWORD)
    answers.push({ status: res.statusCode, body: res.body, retryAfter: res.headers['retry-after'] })
  }
  t.same(answers[0], answers[1])
  t.equal(answers[0]?.status, 429)
})

t.test('the account is counted by its canonical name: case and width variants share the lockout', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 3 } } })
  t.teardown(() => app.close())
  for (const variant of ['alice', 'ALICE', ' Ａｌｉｃｅ ']) t.equal((await login(app, variant, WRONG)).statusCode, 401, variant)
  t.equal((await login(app, 'Alice', PASSWORD)).statusCode, 429)
})

t.test('rotating X-Forwarded-For does not escape a lockout (request.ip honours trustProxy only)', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 100 }, ip: { max: 3 } } })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) {
    t.equal((await login(app, `user${i}`, WRONG, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).statusCode, 401)
  }
  for (let i = 10; i < 15; i++) {
    const res = await login(app, `user${i}`, WRONG, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })
    t.equal(res.statusCode, 429, `a new forwarded address ${i} is still the same client`)
    t.equal(res.json().code, 'GK_ACCOUNT_LOCKED')
    t.ok(Number(res.headers['retry-after']) > 0)
  }
  t.equal((await login(app, 'alice', PASSWORD, { ip: '192.0.2.50' })).statusCode, 200, 'another client is unaffected')
})

t.test('an account lockout holds whatever address the attempts claim or come from', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 2 } } }, { trustProxy: true })
  t.teardown(() => app.close())
  await login(app, 'alice', WRONG, { headers: { 'x-forwarded-for': '198.51.100.1' } })
  await login(app, 'alice', WRONG, { headers: { 'x-forwarded-for': '198.51.100.2' } })
  for (const ip of ['198.51.100.3', '2001:db8::1', '10.0.0.1']) {
    const res = await login(app, 'alice', PASSWORD, { headers: { 'x-forwarded-for': ip } })
    t.equal(res.statusCode, 429, `still locked from ${ip}`)
  }
})

t.test('behind a trusted proxy each forwarded client has its own address limit', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 100 }, ip: { max: 2 } } }, { trustProxy: '127.0.0.1' })
  t.teardown(() => app.close())
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  await login(app, 'a', WRONG, from('198.51.100.1'))
  await login(app, 'b', WRONG, from('198.51.100.1'))
  t.equal((await login(app, 'c', WRONG, from('198.51.100.1'))).statusCode, 429)
  t.equal((await login(app, 'c', WRONG, from('198.51.100.2'))).statusCode, 401)
})

t.test('parallel wrong passwords cannot exceed the account limit', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 3 } } })
  t.teardown(() => app.close())
  const all = await Promise.all(Array.from({ length: 12 }, async () => (await login(app, 'alice', WRONG)).statusCode))
  t.equal(all.filter((s) => s === 401).length, 3, 'three password checks')
  t.equal(all.filter((s) => s === 429).length, 9)
})

t.test('credential stuffing: one address failing across many accounts emits an anomaly; blocking is opt-in', async (t) => {
  const { app, clock } = await loginApp({ bruteForce: { ip: { max: 1000 }, credentialStuffing: { accounts: 4, window: '10m' } } })
  t.teardown(() => app.close())
  const seen: unknown[] = []
  app.gatekeeper.on('anomaly', (a) => seen.push(a))
  for (let i = 0; i < 6; i++) {
    await login(app, `victim${i}`, 'Spring2024!', { ip: '203.0.113.9' })
    clock.now += 1000
  }
  t.same(seen, [{ type: 'credential_stuffing', ip: '203.0.113.9', accounts: 4, failures: 4, windowMs: 10 * MIN }], 'reported once')
  t.equal((await login(app, 'alice', PASSWORD, { ip: '203.0.113.9' })).statusCode, 200, 'no block unless configured')

  const blocking = await loginApp({ bruteForce: { credentialStuffing: { accounts: 3, block: '15m' } } })
  t.teardown(() => blocking.app.close())
  for (let i = 0; i < 3; i++) await login(blocking.app, `victim${i}`, 'hunter2hunter2', { ip: '2001:db8:9:9::1' })
  const res = await login(blocking.app, 'alice', PASSWORD, { ip: '2001:db8:9:9::2' })
  t.equal(res.statusCode, 429, 'the whole /64 is blocked')
  t.equal(res.headers['retry-after'], '900')
  t.equal((await login(blocking.app, 'alice', PASSWORD, { ip: '2001:db8:9:a::1' })).statusCode, 200)
})

t.test('an administrator can unlock an account', async (t) => {
  const { app } = await loginApp({ bruteForce: { account: { max: 1 } } })
  t.teardown(() => app.close())
  await login(app, 'alice', WRONG)
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 429)
  await app.gatekeeper.protection.unlock('Alice')
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
})

t.test('bruteForce: false turns the protection off', async (t) => {
  const { app } = await loginApp({ bruteForce: false })
  t.teardown(() => app.close())
  for (let i = 0; i < 8; i++) await login(app, 'alice', WRONG)
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
  t.equal(app.gatekeeper.protection.bruteForce, null)
  await app.gatekeeper.protection.unlock('alice')
})

t.test('without the jwt plugin the guard waits unused and nothing breaks', async (t) => {
  const { coreApp } = await import('../helpers.js')
  const app = await coreApp()
  t.teardown(() => app.close())
  await app.ready()
  t.ok(app.gatekeeper.protection.loginGuard)
})
