import t, { type Test } from 'tap'
import { RedisCounterStore, redisCounters } from '../../lib/redis/counters.js'
import { contract, type Clocked } from '../protection/counter-contract.js'
import { adminClient, keysUnder, redisClient, requireRedis, uniquePrefix } from './env.js'

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
