import t from 'tap'
import { RedisCounterStore, redisCounters } from '../../lib/redis/counters.js'
import { counterStoreConformance, type Check, type Clocked } from 'fastify-gatekeeper/testing/store'
import { adminClient, keysUnder, redisClient, requireRedis, uniquePrefix } from './env.js'

if (await requireRedis(t)) {
  const clocked = (t: Check): Clocked & { prefix: string } => {
    const prefix = uniquePrefix('counters')
    adminClient(t, prefix)
    const clock = { now: Date.now() }
    return { store: redisCounters({ client: redisClient(t), prefix, now: () => clock.now }), clock, prefix }
  }
  counterStoreConformance(t, 'redis', clocked)
  // The same semantics when every key is kept (a TTL-less hash instead of keys with a TTL).
  counterStoreConformance(t, 'redis, kept keys', (t) => {
    const prefix = uniquePrefix('kept')
    adminClient(t, prefix)
    const clock = { now: Date.now() }
    return { store: redisCounters({ client: redisClient(t), prefix, now: () => clock.now, priority: () => 2 }), clock }
  })

  t.test('redis: kept counters carry no TTL (no volatile-* policy can evict them) and are swept once expired', async (t) => {
    const prefix = uniquePrefix('sweep')
    const admin = adminClient(t, prefix)
    const clock = { now: Date.now() }
    const store = redisCounters({ client: redisClient(t), prefix, now: () => clock.now, priority: (k) => k.startsWith('lock:') ? 2 : 0 })
    for (let i = 0; i < 50; i++) await store.set(`lock:${i}`, 1, 60_000)
    await store.increment('plain', 60_000)
    const keys = (await keysUnder(admin, prefix)).sort()
    t.same(keys, [`${prefix}c:plain`, `${prefix}c:{kept}`, `${prefix}c:{kept}:expiry`].sort(), 'fifty locks in one hash')
    t.equal(await admin.pttl(`${prefix}c:{kept}`), -1, 'the hash has no TTL')
    t.equal(await admin.pttl(`${prefix}c:{kept}:expiry`), -1, 'nor its expiry index')
    t.ok(await admin.pttl(`${prefix}c:plain`) > 0, 'an ordinary key has one')
    t.equal(await admin.hlen(`${prefix}c:{kept}`), 50)
    clock.now += 60_000
    t.equal(await store.get('lock:3'), null, 'expired at its expiry')
    for (let i = 0; i < 4; i++) await store.set(`lock:new${i}`, 1, 60_000)
    t.equal(await admin.hlen(`${prefix}c:{kept}`), 4, 'each write swept up to 20 expired ones: 49 gone after three writes')
    t.equal(await admin.zcard(`${prefix}c:{kept}:expiry`), 4)
  })

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
    t.equal(redisCounters({ client: redisClient(t), prefix, priority: () => 1 }).keyOf('bf:l:x'), `${prefix}c:{kept}:bf:l:x`, 'a kept key lives in the slot of the kept hash')
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
