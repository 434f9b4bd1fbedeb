import t, { type Test } from 'tap'
import { memoryCounters, type CounterStore } from '../../lib/protection/counters.js'
import { RedisCounterStore, redisCounters } from '../../lib/redis/counters.js'
import { adminClient, keysUnder, redisClient, requireRedis, uniquePrefix } from './env.js'

interface Clocked { store: CounterStore, clock: { now: number } }

/** The counter semantics brute-force protection relies on, for any store; the memory store is the reference. */
function contract (name: string, make: (t: Test) => Clocked): void {
  t.test(`${name}: a counter counts within its fixed window and starts again after it`, async (t) => {
    const { store, clock } = make(t)
    t.same(await store.increment('k', 1000), { value: 1, expiresAt: clock.now + 1000 })
    const start = clock.now
    clock.now += 999
    t.same(await store.increment('k', 1000), { value: 2, expiresAt: start + 1000 }, 'a fixed window keeps its expiry')
    clock.now += 1
    t.same(await store.increment('k', 1000), { value: 1, expiresAt: clock.now + 1000 }, 'expired at exactly its expiry')
  })

  t.test(`${name}: a sliding counter pushes its expiry on every increment`, async (t) => {
    const { store, clock } = make(t)
    await store.increment('s', 1000, true)
    clock.now += 900
    t.same(await store.increment('s', 1000, true), { value: 2, expiresAt: clock.now + 1000 })
    clock.now += 900
    t.equal((await store.get('s'))?.value, 2, 'still there 1.8 s after the first increment')
  })

  t.test(`${name}: get, set, delete, and a window is not a counter`, async (t) => {
    const { store, clock } = make(t)
    t.equal(await store.get('x'), null)
    await store.set('x', 7, 500)
    t.same(await store.get('x'), { value: 7, expiresAt: clock.now + 500 })
    clock.now += 500
    t.equal(await store.get('x'), null, 'expired')
    await store.set('x', 1, 500)
    await store.delete('x')
    t.equal(await store.get('x'), null, 'deleted')
    await store.hit('w', 1000, 5)
    t.equal(await store.get('w'), null, 'a window is not a counter')
    await store.set('x', 1, 500)
    t.same(await store.hits('x', 1000), { count: 0, oldest: null }, 'nor a counter a window')
    t.same(await store.increment('w', 1000), { value: 1, expiresAt: clock.now + 1000 }, 'incrementing a window key replaces it')
    t.same(await store.hit('x', 1000, 5), { count: 1, oldest: clock.now }, 'hitting a counter key replaces it')
  })

  t.test(`${name}: a sliding window counts the hits of the last windowMs and keeps at most keep`, async (t) => {
    const { store, clock } = make(t)
    const start = clock.now
    t.same(await store.hit('w', 1000, 3), { count: 1, oldest: start })
    clock.now += 400
    t.same(await store.hit('w', 1000, 3), { count: 2, oldest: start })
    clock.now += 400
    t.same(await store.hit('w', 1000, 3), { count: 3, oldest: start })
    t.same(await store.hit('w', 1000, 3), { count: 3, oldest: start + 400 }, 'the oldest beyond keep is dropped')
    clock.now = start + 1400
    t.same(await store.hits('w', 1000), { count: 2, oldest: start + 800 }, 'hits older than the window no longer count')
    clock.now = start + 1800
    t.same(await store.hits('w', 1000), { count: 0, oldest: null }, 'all gone once the newest leaves the window')
  })

  t.test(`${name}: setIfAbsent sets a missing or expired key only; one concurrent caller wins`, async (t) => {
    const { store, clock } = make(t)
    t.equal(await store.setIfAbsent('l', 1, 100), true)
    t.equal(await store.setIfAbsent('l', 2, 100), false)
    t.equal((await store.get('l'))?.value, 1)
    clock.now += 100
    t.equal(await store.setIfAbsent('l', 3, 100), true, 'an expired key counts as absent')
    const wins = await Promise.all([1, 2, 3, 4].map(async (v) => await store.setIfAbsent('p', v, 100)))
    t.equal(wins.filter(Boolean).length, 1)
  })
}

function memory (): Clocked {
  const clock = { now: 1_000_000 }
  return { store: memoryCounters({ now: () => clock.now }), clock }
}

contract('memory (reference)', memory)

if (await requireRedis(t)) {
  const clocked = (t: Test): Clocked & { prefix: string } => {
    const prefix = uniquePrefix('counters')
    adminClient(t, prefix)
    const clock = { now: Date.now() }
    return { store: redisCounters({ client: redisClient(t), prefix, now: () => clock.now }), clock, prefix }
  }
  contract('redis', clocked)

  t.test('redis: increments from two connections are never lost (each call is one script)', async (t) => {
    const prefix = uniquePrefix('atomic')
    adminClient(t, prefix)
    const a = redisCounters({ client: redisClient(t), prefix })
    const b = redisCounters({ client: redisClient(t), prefix })
    await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).increment('n', 60_000)))
    t.equal((await a.get('n'))?.value, 200)
    const hits = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).hit('w', 60_000, 1000)))
    t.equal((await b.hits('w', 60_000)).count, 50, 'hits in the same millisecond from two instances are all counted')
    t.same(hits.map((h) => h.count).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1), 'each hit saw a distinct count')
  })

  t.test('redis: every key lives under the prefix and carries a TTL, so nothing is left behind', async (t) => {
    const prefix = uniquePrefix('ttl')
    const admin = adminClient(t, prefix)
    const store = new RedisCounterStore({ client: redisClient(t), prefix })
    t.equal(store.keyOf('bf:a:x'), `${prefix}c:bf:a:x`)
    await store.increment('a', 60_000)
    await store.increment('b', 60_000, true)
    await store.set('c', 3, 60_000)
    await store.setIfAbsent('d', 1, 60_000)
    await store.hit('e', 60_000, 10)
    const keys = await keysUnder(admin, prefix)
    t.equal(keys.length, 5)
    for (const key of keys) {
      const ttl = await admin.pttl(key)
      t.ok(ttl > 0 && ttl <= 60_000, `${key.slice(prefix.length)} expires in ${ttl} ms`)
    }
    await store.delete('a')
    t.equal(await admin.exists(`${prefix}c:a`), 0, 'delete removes the key')
  })

  t.test('redis: a server that lost its scripts (SCRIPT FLUSH, restart) gets them again', async (t) => {
    const prefix = uniquePrefix('noscript')
    const admin = adminClient(t, prefix)
    const store = redisCounters({ client: redisClient(t), prefix })
    await store.increment('k', 60_000)
    await admin.script('FLUSH')
    t.equal((await store.increment('k', 60_000)).value, 2)
  })

  t.test('redis: errors other than NOSCRIPT reach the caller', async (t) => {
    const client = redisClient(t)
    const store = redisCounters({ client, prefix: uniquePrefix('closed') })
    client.disconnect()
    await t.rejects(store.get('k'), /Connection is closed/)
  })
}
