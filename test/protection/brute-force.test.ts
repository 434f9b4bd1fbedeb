import t from 'tap'
import { BruteForce, PENDING_MS } from '../../lib/protection/brute-force.js'
import { memoryCounters, type CounterStore } from '../../lib/protection/counters.js'
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
  const { refusal, attempt } = await bf.admit(login, ip)
  if (attempt === null) return { refusal, out: null }
  return { refusal: null, out: await attempt.failure() }
}

/** The refusal of an attempt, or `null` when it is let through (its place then given back). */
async function refusal (bf: BruteForce, login: string, ip = IP) {
  const { refusal, attempt } = await bf.admit(login, ip)
  await attempt?.release()
  return refusal
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
    t.same(await refusal(bf, 'alice'), { scope: 'account', retryAfterMs: length }, 'refused while locked')
    clock.now += length - 1
    t.equal((await refusal(bf, 'alice'))?.retryAfterMs, 1, 'still locked a millisecond before the end')
    clock.now += 1
  }
  t.equal(await refusal(bf, 'alice'), null, 'free again once the lockout is over')
})

t.test('a success clears the account: the next failures start from the base lockout again', async (t) => {
  const { bf, clock } = setup({ account: { max: 2 } })
  await fail(bf, 'bob')
  t.equal((await fail(bf, 'bob')).out?.lockedForMs, MIN)
  clock.now += MIN
  t.equal(await refusal(bf, 'bob'), null)
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
  const admitted = verdicts.flatMap((v) => v.attempt === null ? [] : [v.attempt])
  t.equal(admitted.length, 5, 'only account.max attempts reach the password check')
  t.same(verdicts.find((v) => v.refusal !== null)?.refusal, { scope: 'account', retryAfterMs: MIN }, 'the others are told the lockout the attempts in flight would set')
  const outs = await Promise.all(admitted.map(async (a) => await a.failure()))
  t.equal(outs.filter((o) => o.lockedForMs !== null).length, 1, 'one lockout, not five')
})

t.test('unknown and known accounts are counted alike (the counters never look at the store)', async (t) => {
  const { bf } = setup({ account: { max: 2 } })
  for (const name of ['exists', 'does-not-exist']) {
    await fail(bf, name)
    await fail(bf, name)
    t.same(await refusal(bf, name), { scope: 'account', retryAfterMs: MIN }, name)
  }
})

t.test('an address is refused after ip.max failures across accounts, until the oldest leaves the window', async (t) => {
  const { bf, clock } = setup({ account: { max: 100 }, ip: { max: 4, window: '10m' }, hardCap: 100 })
  for (let i = 0; i < 3; i++) {
    t.equal((await fail(bf, `user${i}`)).out?.ipRefusedForMs, null)
    clock.now += MIN
  }
  t.equal((await fail(bf, 'user3')).out?.ipRefusedForMs, 7 * MIN, 'the fourth failure reaches the limit: the oldest leaves the window in 7 min')
  t.same(await refusal(bf, 'someone-else'), { scope: 'ip', retryAfterMs: 7 * MIN })
  t.same(await refusal(bf, 'someone-else', '203.0.113.6'), null, 'another address is not affected')
  await bf.success('user0')
  t.equal((await refusal(bf, 'user0'))?.scope, 'ip', 'a success does not clear the address')
  clock.now += 7 * MIN
  t.equal(await refusal(bf, 'someone-else'), null)
})

t.test('IPv6 addresses of one /64 share their failures', async (t) => {
  const { bf } = setup({ account: { max: 100 }, ip: { max: 3 } })
  for (let i = 1; i <= 3; i++) await fail(bf, `u${i}`, `2001:db8:5:6::${i}`)
  t.equal((await refusal(bf, 'u9', '2001:db8:5:6:aaaa::77'))?.scope, 'ip')
  t.equal(await refusal(bf, 'u9', '2001:db8:5:7::1'), null)
})

t.test('block, unblock and unlock', async (t) => {
  const { bf } = setup({ account: { max: 1 }, ip: { max: 2 } })
  await bf.block(IP, 5 * MIN)
  t.same(await refusal(bf, 'grace'), { scope: 'blocked', retryAfterMs: 5 * MIN })
  await bf.unblock(IP)
  t.equal(await refusal(bf, 'grace'), null)
  await bf.attempt('grace', IP).failure()
  t.equal((await refusal(bf, 'grace'))?.scope, 'account')
  await bf.unlock('grace')
  t.equal(await refusal(bf, 'grace'), null, 'unlocked')
  await bf.attempt('grace', IP).failure()
  t.equal((await fail(bf, 'heidi')).refusal?.scope, 'ip')
  await bf.unblock(IP)
  t.equal((await fail(bf, 'heidi')).refusal, null, 'unblock forgets the failures of the address')
})

t.test('an attempt released without a verdict counts for nothing; a refused attempt adds nothing', async (t) => {
  const { bf } = setup({ account: { max: 2 }, ip: { max: 3 } })
  for (let i = 0; i < 10; i++) {
    const { attempt } = await bf.admit('ivan', IP)
    t.ok(attempt, `attempt ${i + 1} let through`)
    await attempt?.release()
  }
  await fail(bf, 'ivan')
  const both = await Promise.all([bf.admit('ivan', IP), bf.admit('ivan', IP)])
  t.equal(both.filter((x) => x.attempt !== null).length, 1, 'one failure and one attempt in flight fill a budget of two')
  for (const x of both) await x.attempt?.release()
  t.equal((await fail(bf, 'ivan')).out?.lockedForMs, MIN, 'the second failure on the credential locks: the released ones never counted')
})

t.test('attempts in flight from one address count against its budget, across accounts', async (t) => {
  const { bf, clock } = setup({ account: { max: 5 }, ip: { max: 4, window: '10m' } })
  const burst = await Promise.all(Array.from({ length: 30 }, async (_, i) => await bf.admit(`victim${i}`, IP)))
  const through = burst.flatMap((x) => x.attempt === null ? [] : [x.attempt])
  t.equal(through.length, 4, 'ip.max attempts reach the password check, not thirty')
  t.ok(burst.filter((x) => x.refusal !== null).every((x) => x.refusal?.scope === 'ip' && x.refusal.retryAfterMs === 10 * MIN), 'the others are refused for the address window')
  t.equal((await bf.admit('alice', '198.51.100.7')).refusal, null, 'another address is not affected')
  await through[0]?.success()
  await through[1]?.release()
  t.equal((await refusal(bf, 'victim99')), null, 'a success and a release give their places back')
  await through[2]?.failure()
  await through[3]?.failure()
  clock.now += MIN
  t.equal((await fail(bf, 'victim98')).out?.ipRefusedForMs, null, 'three failures of four')
  const out = await fail(bf, 'victim97')
  t.equal(out.out?.ipRefusedForMs, 9 * MIN, 'the fourth failure refuses the address until the first leaves the window')
})

t.test('an attempt is settled once: a second verdict is ignored', async (t) => {
  const { bf } = setup({ account: { max: 2 } })
  const { attempt } = await bf.admit('judy', IP)
  await attempt?.failure()
  await attempt?.failure()
  await attempt?.success()
  await attempt?.release()
  t.equal(await refusal(bf, 'judy'), null, 'one failure counted, nothing cleared')
  t.equal((await fail(bf, 'judy')).out?.lockedForMs, MIN)
})

t.test('places of a process that died mid-login are given back after PENDING_MS', async (t) => {
  const { bf, clock } = setup({ account: { max: 2 } })
  await bf.admit('kim', IP)
  await bf.admit('kim', IP)
  t.equal((await refusal(bf, 'kim'))?.scope, 'account', 'two attempts in flight fill the budget')
  clock.now += PENDING_MS
  t.equal(await refusal(bf, 'kim'), null, 'their places expired')
})

t.test('a full window whose lock was lost still refuses, until its oldest failure leaves the window', async (t) => {
  const clock = { now: 1_700_000_000_000 }
  const inner = memoryCounters({ now: () => clock.now })
  // A backend that loses lock writes and keeps failure windows: the window alone must hold the line.
  const lossy: CounterStore = {
    increment: async (k, ttl, slide) => await inner.increment(k, ttl, slide),
    get: async (key) => key.startsWith('bf:l:') ? null : await inner.get(key),
    set: async (k, v, ttl) => { await inner.set(k, v, ttl) },
    setIfAbsent: async (k, v, ttl) => await inner.setIfAbsent(k, v, ttl),
    delete: async (key) => { if (!key.startsWith('bf:a:')) await inner.delete(key) },
    hit: async (k, w, keep) => await inner.hit(k, w, keep),
    hits: async (k, w) => await inner.hits(k, w),
    take: async (k, w, limit) => await inner.take(k, w, limit),
    release: async (k, id) => { await inner.release(k, id) }
  }
  const bf = new BruteForce(lossy, parseBruteForce({ account: { max: 2, window: '10m' } })!, () => clock.now)
  await fail(bf, 'lena')
  clock.now += MIN
  await fail(bf, 'lena')
  t.same(await refusal(bf, 'lena'), { scope: 'account', retryAfterMs: 9 * MIN }, 'refused until the first failure is ten minutes old')
  clock.now += 9 * MIN
  t.equal(await refusal(bf, 'lena'), null)
})
