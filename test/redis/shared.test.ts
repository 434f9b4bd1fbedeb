import t from 'tap'
import Fastify from 'fastify'
import { apiKey } from '../../lib/api-key/plugin.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { instance, login, PASSWORD, setPassword, sharedStore, WRONG, withKey } from './apps.js'
import { adminClient, keysUnder, redisClient, requireRedis, uniquePrefix, until } from './env.js'

// Several instances in one process, each with its own Redis connection, over one store.
if (await requireRedis(t)) {
  t.test('an API key revoked on A is refused on B within 1 s, although B had it cached', async (t) => {
    const prefix = uniquePrefix('revoke')
    adminClient(t, prefix)
    const { store, aliceId } = await sharedStore()
    const a = await instance(t, store, { client: redisClient(t), prefix })
    const b = await instance(t, store, { client: redisClient(t), prefix })
    const withoutBus = await instance(t, store, undefined)
    const { key, record } = await a.app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })
    for (const app of [a.app, b.app, withoutBus.app]) t.equal((await withKey(app, key)).statusCode, 200, 'verified and cached')
    t.equal(b.app.gatekeeper.apiKeys.cacheSize, 1)

    t.equal(await a.app.gatekeeper.apiKeys.revoke(record.id), true)
    const ms = await until(() => b.app.gatekeeper.apiKeys.cacheSize === 0, 1000)
    t.comment(`B evicted the key ${ms.toFixed(1)} ms after the revocation on A`)
    const refused = await withKey(b.app, key)
    t.equal(refused.statusCode, 401)
    t.equal(refused.json().code, 'GK_TOKEN_INVALID')
    t.equal((await withKey(withoutBus.app, key)).statusCode, 200, 'an instance without the bus still serves its cached entry (what the bus prevents)')
  })

  t.test('a key rotated on A (no overlap) is refused on B within 1 s; the new key works on B', async (t) => {
    const prefix = uniquePrefix('rotate')
    adminClient(t, prefix)
    const { store, aliceId } = await sharedStore()
    const a = await instance(t, store, { client: redisClient(t), prefix })
    const b2 = await instance(t, store, { client: redisClient(t), prefix })
    const { key, record } = await a.app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })
    t.equal((await withKey(b2.app, key)).statusCode, 200)
    const rotated = await a.app.gatekeeper.apiKeys.rotate(record.id)
    await until(() => b2.app.gatekeeper.apiKeys.cacheSize === 0, 1000)
    t.equal((await withKey(b2.app, key)).statusCode, 401, 'the old key')
    t.equal((await withKey(b2.app, rotated.key)).statusCode, 200, 'the new key')
  })

  t.test('the per-account lockout counts failures from every instance', async (t) => {
    const prefix = uniquePrefix('lockout')
    const admin = adminClient(t, prefix)
    const { store, aliceId } = await sharedStore()
    const core = { bruteForce: { account: { max: 3 } } }
    const [a, b, c] = await Promise.all([1, 2, 3].map(async () => await instance(t, store, { client: redisClient(t), prefix }, core)))
    await setPassword(a!.app, store, aliceId)
    t.equal((await login(a!.app, 'alice', WRONG)).statusCode, 401, 'failure 1 on A')
    t.equal((await login(b!.app, 'alice', WRONG)).statusCode, 401, 'failure 2 on B')
    t.equal((await login(c!.app, 'alice', WRONG)).statusCode, 401, 'failure 3 on C')
    const locked = await login(a!.app, 'alice', PASSWORD)
    t.equal(locked.statusCode, 429, 'the right password on A is refused: the account is locked')
    t.equal(locked.json().code, 'GK_ACCOUNT_LOCKED')
    t.equal(locked.headers['retry-after'], '60')
    t.equal((await login(b!.app, 'alice', PASSWORD)).statusCode, 429, 'and on B')
    await a!.app.gatekeeper.protection.unlock('alice')
    t.equal((await login(c!.app, 'alice', PASSWORD)).statusCode, 200, 'an unlock on A frees the account on C')
    const keys = await keysUnder(admin, prefix)
    t.ok(keys.length > 0 && keys.every((k) => k.startsWith(`${prefix}c:bf:`)), 'the counters live under the prefix')
    t.notOk(keys.some((k) => k.includes('alice')), 'no login name in a key')
  })

  t.test('rate limits are shared: @fastify/rate-limit counts every instance\'s requests in Redis', async (t) => {
    const prefix = uniquePrefix('rl')
    const admin = adminClient(t, prefix)
    const { store, aliceId } = await sharedStore()
    const core = { rateLimit: { max: 3, timeWindow: '1m' } }
    const a = await instance(t, store, { client: redisClient(t), prefix }, core)
    const b = await instance(t, store, { client: redisClient(t), prefix }, core)
    const { key, record } = await a.app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })
    const statuses = []
    for (const app of [a.app, b.app, a.app, b.app]) statuses.push((await withKey(app, key)).statusCode)
    t.same(statuses, [200, 200, 200, 429])
    const limited = await withKey(a.app, key)
    t.equal(limited.json().code, 'GK_RATE_LIMITED')
    t.equal(limited.headers['ratelimit-limit'], '3')
    t.ok(record.id, 'a key of alice')
    t.same(await keysUnder(admin, `${prefix}rl:`), [`${prefix}rl:sub:${aliceId}`], 'counted against its owner')
    t.ok(await admin.pttl(`${prefix}rl:sub:${aliceId}`) > 0, 'with a TTL')
  })

  t.test('a route with its own config.rateLimit counts under its own keys', async (t) => {
    const prefix = uniquePrefix('rlroute')
    const admin = adminClient(t, prefix)
    const { store, aliceId } = await sharedStore()
    const a = await instance(t, store, { client: redisClient(t), prefix }, { rateLimit: { max: 100 } })
    const { key } = await a.app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })
    // An app whose route sets a tighter limit.
    const app2 = Fastify()
    t.teardown(() => app2.close())
    await app2.register(gatekeeper, { store, audit: { log: false }, redis: { client: redisClient(t), prefix }, rateLimit: { max: 100 } })
    await app2.register(apiKey, { routes: false })
    app2.get('/tight', { config: { rateLimit: { max: 1, timeWindow: 60_000 } } }, async () => ({ ok: true }))
    await app2.ready()
    const go = () => app2.inject({ method: 'GET', url: '/tight', headers: { 'x-api-key': key } })
    t.same([(await go()).statusCode, (await go()).statusCode], [200, 429])
    const keys = await keysUnder(admin, `${prefix}rl:`)
    t.ok(keys.some((k) => k.startsWith(`${prefix}rl:GET/tight-`)), 'the route namespace of @fastify/rate-limit')
  })
}
