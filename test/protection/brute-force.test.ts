import t from 'tap'
import { BruteForce } from '../../lib/protection/brute-force.js'
import { memoryCounters } from '../../lib/protection/counters.js'
import { parseBruteForce, type BruteForceOptions } from '../../lib/protection/options.js'

const MIN = 60_000
const IP = '203.0.113.5'

function setup (opts: BruteForceOptions = {}): { bf: BruteForce, clock: { now: number } } {
  const clock = { now: 1_700_000_000_000 }
  const now = (): number => clock.now
  const settings = parseBruteForce(opts)
  if (settings === null) throw new Error('unreachable')
  return { bf: new BruteForce(memoryCounters({ now }), settings, now), clock }
}

/** One attempt that fails its password check; returns the refusal if it was refused before the check. */
async function fail (bf: BruteForce, login: string, ip = IP) {
  const refusal = await bf.admit(login, ip)
  if (refusal !== null) return { refusal, out: null }
  return { refusal: null, out: await bf.failure(login, ip) }
}

t.test('an account is locked after account.max failures, with exponential back-off capped at lockout.max', async (t) => {
  const { bf, clock } = setup({ account: { max: 3, window: '15m' }, lockout: { base: '1m', factor: 2, max: '5m' } })
  const expected = [MIN, 2 * MIN, 4 * MIN, 5 * MIN, 5 * MIN]
  for (const [i, length] of expected.entries()) {
    const a = await fail(bf, 'alice')
    const b = await fail(bf, 'alice')
    t.equal(a.out?.lockedForMs, null, `lockout ${i + 1}: the first failure does not lock`)
    t.equal(b.out?.lockedForMs, null)
    const c = await fail(bf, 'alice')
    t.equal(c.out?.lockedForMs, length, `lockout ${i + 1} lasts ${length / MIN} min`)
    t.equal(c.out?.level, i + 1)
    t.same(await bf.admit('alice', IP), { scope: 'account', retryAfterMs: length }, 'refused while locked')
    clock.now += length - 1
    t.equal((await bf.admit('alice', IP))?.retryAfterMs, 1, 'still locked a millisecond before the end')
    clock.now += 1
  }
  t.equal(await bf.admit('alice', IP), null, 'free again once the lockout is over')
})

t.test('a success clears the account: the next failures start from the base lockout again', async (t) => {
  const { bf, clock } = setup({ account: { max: 2 } })
  await fail(bf, 'bob')
  t.equal((await fail(bf, 'bob')).out?.lockedForMs, MIN)
  clock.now += MIN
  t.equal(await bf.admit('bob', IP), null)
  await bf.success('bob')
  await fail(bf, 'bob')
  t.equal((await fail(bf, 'bob')).out?.lockedForMs, MIN, 'back to the base lockout')
  t.equal(await bf.lockedFor('bob'), MIN)
  t.equal(await bf.lockedFor('carol'), 0)
})

t.test('failures outside the sliding window are forgotten', async (t) => {
  const { bf, clock } = setup({ account: { max: 3, window: '10m' } })
  await fail(bf, 'dave')
  clock.now += 6 * MIN
  await fail(bf, 'dave')
  clock.now += 5 * MIN // the first failure is now 11 minutes old
  t.equal((await fail(bf, 'dave')).out?.lockedForMs, null, 'only two failures in the last 10 minutes')
  t.equal((await fail(bf, 'dave')).out?.lockedForMs, MIN, 'the third within the window locks')
})

t.test('never more than hardCap consecutive failures without a lockout of lockout.max each', async (t) => {
  const { bf, clock } = setup({ account: { max: 10 }, lockout: { base: '1s', factor: 1, max: '1h' }, hardCap: 25 })
  let failures = 0
  let lastLock = 0
  for (let i = 0; i < 40; i++) {
    const r = await fail(bf, 'erin')
    if (r.refusal !== null) {
      clock.now += r.refusal.retryAfterMs
      continue
    }
    failures++
    if (r.out?.lockedForMs !== null) lastLock = r.out?.lockedForMs ?? 0
    if (failures >= 25) t.equal(r.out?.lockedForMs, 60 * MIN, `failure ${failures} (past the cap) locks for an hour`)
    t.equal(r.out?.streak, failures)
  }
  t.equal(lastLock, 60 * MIN)
  t.ok(failures > 25, 'the loop reached past the cap')
})

t.test('parallel attempts cannot slip past the account limit', async (t) => {
  const { bf } = setup({ account: { max: 5 } })
  const verdicts = await Promise.all(Array.from({ length: 50 }, async () => await bf.admit('frank', IP)))
  t.equal(verdicts.filter((v) => v === null).length, 5, 'only account.max attempts reach the password check')
  t.same(verdicts.find((v) => v !== null), { scope: 'account', retryAfterMs: MIN })
  const outs = await Promise.all(Array.from({ length: 5 }, async () => await bf.failure('frank', IP)))
  t.equal(outs.filter((o) => o.lockedForMs !== null).length, 1, 'one lockout, not five')
})

t.test('unknown and known accounts are counted alike (the counters never look at the store)', async (t) => {
  const { bf } = setup({ account: { max: 2 } })
  for (const name of ['exists', 'does-not-exist']) {
    await fail(bf, name)
    await fail(bf, name)
    t.same(await bf.admit(name, IP), { scope: 'account', retryAfterMs: MIN }, name)
  }
})

t.test('an address is refused after ip.max failures across accounts, until the oldest leaves the window', async (t) => {
  const { bf, clock } = setup({ account: { max: 100 }, ip: { max: 4, window: '10m' }, hardCap: 100 })
  for (let i = 0; i < 3; i++) {
    t.equal((await fail(bf, `user${i}`)).out?.ipRefusedForMs, null)
    clock.now += MIN
  }
  t.equal((await fail(bf, 'user3')).out?.ipRefusedForMs, 7 * MIN, 'the fourth failure reaches the limit: the oldest leaves the window in 7 min')
  t.same(await bf.admit('someone-else', IP), { scope: 'ip', retryAfterMs: 7 * MIN })
  t.same(await bf.admit('someone-else', '203.0.113.6'), null, 'another address is not affected')
  await bf.success('user0')
  t.equal((await bf.admit('user0', IP))?.scope, 'ip', 'a success does not clear the address')
  clock.now += 7 * MIN
  t.equal(await bf.admit('someone-else', IP), null)
})

t.test('IPv6 addresses of one /64 share their failures', async (t) => {
  const { bf } = setup({ account: { max: 100 }, ip: { max: 3 } })
  for (let i = 1; i <= 3; i++) await fail(bf, `u${i}`, `2001:db8:5:6::${i}`)
  t.equal((await bf.admit('u9', '2001:db8:5:6:aaaa::77'))?.scope, 'ip')
  t.equal(await bf.admit('u9', '2001:db8:5:7::1'), null)
})

t.test('block, unblock and unlock', async (t) => {
  const { bf } = setup({ account: { max: 1 }, ip: { max: 2 } })
  await bf.block(IP, 5 * MIN)
  t.same(await bf.admit('grace', IP), { scope: 'blocked', retryAfterMs: 5 * MIN })
  await bf.unblock(IP)
  t.equal(await bf.admit('grace', IP), null)
  await bf.failure('grace', IP)
  t.equal((await bf.admit('grace', IP))?.scope, 'account')
  await bf.unlock('grace')
  t.equal(await bf.admit('grace', IP), null, 'unlocked')
  await bf.failure('grace', IP)
  t.equal((await fail(bf, 'heidi')).refusal?.scope, 'ip')
  await bf.unblock(IP)
  t.equal((await fail(bf, 'heidi')).refusal, null, 'unblock forgets the failures of the address')
})
