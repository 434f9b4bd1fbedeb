import { availableParallelism } from 'node:os'
import t from 'tap'
import { auditSweep, createUser, PASSWORD, remember, securityApp } from './helpers.js'

// Attack (issue: "a parallel burst of logins from one address bypasses the per-address limit"):
// with ip.max = 20, 120 parallel attempts on 120 accounts all reached argon2, and a real user's
// login sent meanwhile waited behind all of them.
const WRONG = remember(`${PASSWORD}-burst`)
const BURST = 120
const IP_MAX = 20
const ATTACKER = '203.0.113.66'

t.test('a parallel burst from one address reaches argon2 at most ip.max times and does not hold up another user', async (t) => {
  const { app } = await securityApp({ core: { bruteForce: { ip: { max: IP_MAX }, credentialStuffing: false } } })
  t.teardown(() => app.close())
  await createUser(app, 'alice')
  // Real accounts: each attempt costs one real argon2 verification.
  for (let i = 0; i < BURST; i++) await createUser(app, `victim-${i}`)

  // Every argon2 computation of the login route, in the order they finish.
  const passwords = app.gatekeeper.passwords as unknown as Record<string, (...a: unknown[]) => Promise<boolean>>
  const finished: string[] = []
  let firstDone: () => void = () => {}
  const first = new Promise<void>((resolve) => { firstDone = resolve })
  for (const name of ['verify', 'dummyVerify']) {
    const original = (passwords[name] as (...a: unknown[]) => Promise<boolean>).bind(passwords)
    passwords[name] = async (...args: unknown[]) => {
      const ok = await original(...args)
      finished.push(ok ? 'user' : 'attacker')
      firstDone()
      return ok
    }
  }

  const started = performance.now()
  const burst = Array.from({ length: BURST }, async (_, i) => await app.inject({
    method: 'POST', url: '/api/login', remoteAddress: ATTACKER, payload: { username: `victim-${i}`, password: WRONG }
  }))
  // A real user logs in from elsewhere while the burst is in flight: once its first hash is done.
  await first
  const before = finished.length
  const user = app.inject({ method: 'POST', url: '/api/login', remoteAddress: '198.51.100.23', payload: { username: 'alice', password: PASSWORD } })
    .then((res) => ({ res, ms: performance.now() - started }))
  const answers = await Promise.all(burst)
  const burstMs = performance.now() - started
  const { res, ms } = await user

  t.equal(res.statusCode, 200, 'the real user is let in')
  remember(res.json().accessToken)
  const statuses = answers.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 401).length, IP_MAX, `${IP_MAX} attempts reached the password check`)
  t.equal(statuses.filter((s) => s === 429).length, BURST - IP_MAX, 'the others were refused before any hashing')
  t.ok(answers.filter((r) => r.statusCode === 429).every((r) => r.json().code === 'GK_ACCOUNT_LOCKED' && Number(r.headers['retry-after']) > 0), '429 GK_ACCOUNT_LOCKED with Retry-After')
  t.equal(finished.filter((x) => x === 'attacker').length, IP_MAX, `argon2 ran ${IP_MAX} times for the attacker, not ${BURST}`)
  // The gate runs (cores - 1) hashes at once; the user waits for those running and one turn at most.
  const slots = Math.max(1, availableParallelism() - 1)
  const ahead = finished.indexOf('user') - before
  t.ok(ahead >= 0 && ahead <= 2 * slots + 1, `the real user's hash finished after ${ahead} more of the attacker's (at most ${2 * slots + 1})`)
  t.comment(`real user answered in ${ms.toFixed(0)} ms; the burst took ${burstMs.toFixed(0)} ms`)
  t.ok(ms < burstMs, 'the real user was answered before the burst was over')
})

auditSweep(t)
