import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { FastifyInstance } from 'fastify'
import { generateKey } from '../../lib/api-key/format.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { harness, spyStore } from './helpers.js'

// A real collection before each heap reading: without it the figure is mostly garbage not yet reclaimed.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function routes (app: FastifyInstance): void {
  app.get('/whoami', async (request) => request.auth)
}

t.test('a key expires at its expiry, by the injected clock', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const { key, record } = await h.keys.create({ ownerId: await h.user(), name: 'short', expiresIn: '10m' })
  t.equal(record.expiresAt?.getTime(), h.clock.now + 600_000)
  const headers = { 'x-api-key': key }
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 200)
  h.clock.now += 599_999
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 200, 'a millisecond before the expiry, even from the cache')
  h.clock.now += 1
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 401, 'a key whose expiry equals now is expired, cached or not')
})

t.test('a cache hit is answered synchronously, without the store', async (t) => {
  const spy = spyStore(memoryStore())
  const h = await harness(t, {}, spy.store, routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  const strategy = h.app.gatekeeper.strategy('apiKey')
  t.equal(strategy?.scheme, 'ApiKey')
  const request = { url: '/x', headers: { 'x-api-key': key }, ip: '127.0.0.1' } as never
  const first = strategy?.authenticate(request, {} as never)
  t.ok(first instanceof Promise, 'a miss reads the store')
  const ctx = await first
  spy.calls.length = 0
  const second = strategy?.authenticate(request, {} as never)
  t.notOk(second instanceof Promise, 'a hit returns the context itself')
  t.equal(second, ctx, 'the same frozen context is shared: no allocation per request')
  t.ok(Object.isFrozen(second))
  t.same(spy.calls, [])
  t.equal(h.keys.cacheSize, 1)
  t.equal(strategy?.authenticate({ url: '/x', headers: {}, ip: '127.0.0.1' } as never, {} as never), null, 'no key: null')
})

t.test('cache entries live for cache.ttl, then the store is read again', async (t) => {
  const spy = spyStore(memoryStore())
  const h = await harness(t, { cache: { ttl: '30s' } }, spy.store, routes)
  const owner = await h.user()
  const { key } = await h.keys.create({ ownerId: owner, name: 'ci' })
  const headers = { 'x-api-key': key }
  await h.app.inject({ url: '/whoami', headers })
  await h.store.users.update(owner, { disabled: true })
  h.clock.now += 29_999
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 200, 'within the ttl the cached verification stands')
  h.clock.now += 1
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 401, 'after the ttl the disabled owner is seen')
})

t.test('with cache: false every request reads the store', async (t) => {
  const spy = spyStore(memoryStore())
  const h = await harness(t, { cache: false }, spy.store, routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  spy.calls.length = 0
  for (let i = 0; i < 3; i++) t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })).statusCode, 200)
  t.equal(spy.calls.filter((c) => c.method === 'apiKeys.findByHash').length, 3)
  t.equal(h.keys.cacheSize, 0)
})

t.test('revocation through this instance takes effect at once, cache or not', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const { key, record } = await h.keys.create({ ownerId: owner, name: 'ci' })
  const headers = { 'x-api-key': key }
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 200)
  t.equal(h.keys.cacheSize, 1)
  t.equal(await h.keys.revoke(record.id), true)
  t.equal(await h.keys.revoke(record.id), false, 'a second revocation is a no-op')
  t.equal(await h.keys.revoke('no-such-id'), false)
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 401)
  t.equal(h.keys.cacheSize, 0)
  const revoked = h.events.filter((e) => e.type === 'apikey.revoked')
  t.equal(revoked.length, 1)
  t.equal(revoked[0]?.keyId, record.id)
  const misuse = h.events.filter((e) => e.type === 'apikey.used_after_revoke')
  t.equal(misuse.length, 1, 'use after revocation is audited')
  t.match(misuse[0], { keyId: record.id, ownerId: owner, outcome: 'failure', reason: 'GK_TOKEN_INVALID' })
  for (let i = 0; i < 5; i++) await h.app.inject({ url: '/whoami', headers })
  t.equal(h.events.filter((e) => e.type === 'apikey.used_after_revoke').length, 1, 'at most one such event per key a minute')
  h.clock.now += 60_000
  await h.app.inject({ url: '/whoami', headers })
  t.equal(h.events.filter((e) => e.type === 'apikey.used_after_revoke').length, 2)
})

t.test('evict(id) drops a key revoked elsewhere (the revocation bus path)', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const { key, record } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  const headers = { 'x-api-key': key }
  await h.app.inject({ url: '/whoami', headers })
  // Another instance revokes in the shared store; this one still holds the key in its cache.
  await h.store.apiKeys.revoke(record.id, new Date(h.clock.now))
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 200, 'served from the cache until evicted')
  h.keys.evict(record.id)
  t.equal((await h.app.inject({ url: '/whoami', headers })).statusCode, 401)
})

t.test('a revocation during a store read is not undone by caching that read', async (t) => {
  const inner = memoryStore()
  const spy = spyStore(inner)
  const h = await harness(t, {}, spy.store, routes)
  const { key, record } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const findById = inner.users.findById.bind(inner.users)
  spy.store.users.findById = async (id) => { await gate; return await findById(id) }
  const pending = h.keys.verify(key)
  await tick()
  await h.keys.revoke(record.id)
  release()
  t.ok(await pending, 'the read that started before the revocation answers with what it read')
  t.equal(h.keys.cacheSize, 0, 'but it is not cached')
  t.equal(await h.keys.verify(key), null)
})

t.test('rotation gives a new key and keeps the old one until the overlap ends', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const old = await h.keys.create({ ownerId: owner, name: 'deploy', scopes: ['posts:read'], expiresIn: '30d', rateLimit: { max: 10, timeWindow: '1m' } })
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': old.key } })).statusCode, 200)
  const next = await h.keys.rotate(old.record.id, { overlap: '1h' })
  t.not(next.key, old.key)
  t.not(next.record.id, old.record.id)
  t.match(next.record, { ownerId: owner, name: 'deploy', scopes: ['posts:read'], expiresAt: old.record.expiresAt, rateLimit: { max: 10, timeWindow: 60_000 } })
  t.equal(next.previous.expiresAt?.getTime(), h.clock.now + 3_600_000)
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': old.key } })).statusCode, 200, 'the old key works during the overlap')
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': next.key } })).statusCode, 200)
  h.clock.now += 3_600_000
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': old.key } })).statusCode, 401, 'and stops when it ends, although it was cached')
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': next.key } })).statusCode, 200)
  t.match(h.events.find((e) => e.type === 'apikey.rotated'), { keyId: next.record.id, previousKeyId: old.record.id, ownerId: owner })
})

t.test('rotation without overlap stops the old key at once; dead keys cannot be rotated', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const old = await h.keys.create({ ownerId: owner, name: 'deploy' })
  await h.app.inject({ url: '/whoami', headers: { 'x-api-key': old.key } })
  await h.keys.rotate(old.record.id)
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': old.key } })).statusCode, 401)
  await t.rejects(h.keys.rotate(old.record.id), { code: 'GK_CONFLICT' }, 'an expired key')
  const revoked = await h.keys.create({ ownerId: owner, name: 'gone' })
  await h.keys.revoke(revoked.record.id)
  await t.rejects(h.keys.rotate(revoked.record.id), { code: 'GK_CONFLICT' }, 'a revoked key')
  await t.rejects(h.keys.rotate('nope'), { code: 'GK_NOT_FOUND' })
  await t.rejects(h.keys.rotate(''), { code: 'GK_NOT_FOUND' })
  await t.rejects(h.keys.rotate(old.record.id, { overlap: '90d' }), { code: 'GK_INVALID_REQUEST' }, 'overlap is bounded')
})

t.test('an overlap never extends a key past its own expiry', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const old = await h.keys.create({ ownerId: await h.user(), name: 'x', expiresIn: '10m' })
  const next = await h.keys.rotate(old.record.id, { overlap: '1d' })
  t.equal(next.previous.expiresAt?.getTime(), old.record.expiresAt?.getTime())
})

t.test('create validates its input and its owner', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const rows: Array<[unknown, string]> = [
    [null, 'no input'],
    [{ ownerId: owner }, 'no name'],
    [{ ownerId: owner, name: 'x', scopes: ['bad scope'] }, 'a bad scope'],
    [{ ownerId: owner, name: 'x', expiresIn: '1s' }, 'too short a lifetime'],
    [{ ownerId: owner, name: 'x', expiresIn: 'forever' }, 'not a duration'],
    [{ ownerId: owner, name: 'x', rateLimit: { max: -1, timeWindow: '1m' } }, 'a bad rate limit'],
    [{ ownerId: 'ghost', name: 'x' }, 'an owner that does not exist'],
    [{ name: 'x' }, 'no owner']
  ]
  for (const [input, what] of rows) await t.rejects(h.keys.create(input as never), { code: 'GK_INVALID_REQUEST', statusCode: 400 }, what)
  t.same(await h.keys.list(owner), [], 'nothing was stored')
  t.equal(h.events.filter((e) => e.type === 'apikey.created').length, 0)
  const ok = await h.keys.create({ ownerId: owner, name: ' ci ', scopes: ['posts:read'] })
  t.equal(ok.record.name, 'ci')
  t.match(h.events.find((e) => e.type === 'apikey.created'), { keyId: ok.record.id, ownerId: owner, start: ok.record.start })
})

t.test('list returns every key of an owner without hashes', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const a = await h.keys.create({ ownerId: owner, name: 'a' })
  await h.keys.create({ ownerId: owner, name: 'b' })
  await h.keys.revoke(a.record.id)
  await h.keys.create({ ownerId: await h.user(), name: 'other' })
  const list = await h.keys.list(owner)
  t.same(list.map((k) => k.name), ['a', 'b'])
  t.ok(list[0]?.revokedAt instanceof Date)
  for (const k of list) t.notOk('hash' in k)
})

t.test('verify answers the caller or null', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const { key, record } = await h.keys.create({ ownerId: owner, name: 'ci' })
  t.match(await h.keys.verify(key), { kind: 'application', subject: owner, keyId: record.id })
  t.equal(await h.keys.verify(generateKey('gk')), null)
  t.equal(await h.keys.verify('nonsense'), null)
  t.equal(await h.keys.verify(42 as never), null)
})

t.test('lastUsedAt is written at most once a minute per key, off the request path', async (t) => {
  const spy = spyStore(memoryStore())
  const h = await harness(t, {}, spy.store, routes)
  const { key, record } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  const headers = { 'x-api-key': key }
  const touches = (): number => spy.calls.filter((c) => c.method === 'apiKeys.touch').length
  for (let i = 0; i < 20; i++) {
    await h.app.inject({ url: '/whoami', headers })
    h.clock.now += 1000
  }
  await tick()
  t.equal(touches(), 1, 'twenty requests in twenty seconds, one write')
  t.equal((await h.store.apiKeys.findById(record.id))?.lastUsedAt?.getTime(), h.clock.now - 20_000)
  h.clock.now += 60_000
  await h.app.inject({ url: '/whoami', headers })
  await tick()
  t.equal(touches(), 2)
})

t.test('a failing lastUsedAt write never fails a request', async (t) => {
  const store = memoryStore()
  const h = await harness(t, {}, store, routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  let attempts = 0
  store.apiKeys.touch = async () => { attempts++; throw new Error('read-only replica') }
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })).statusCode, 200)
  await tick()
  await tick()
  t.equal(attempts, 1)
})

t.test('a key used from many addresses in a window raises one anomaly', async (t) => {
  const h = await harness(t, { anomaly: { ips: 3, window: '5m' } }, memoryStore(), routes)
  const owner = await h.user()
  const { key, record } = await h.keys.create({ ownerId: owner, name: 'leaky' })
  for (let i = 1; i <= 6; i++) {
    const res = await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key }, remoteAddress: `203.0.113.${i}` })
    t.equal(res.statusCode, 200, 'the request itself is served')
  }
  t.same(h.anomalies, [{ type: 'apikey.many_ips', keyId: record.id, ownerId: owner, ips: 3, windowMs: 300_000 }])
})

t.test('with anomaly: false nothing is tracked', async (t) => {
  const h = await harness(t, { anomaly: false }, memoryStore(), routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  for (let i = 1; i <= 30; i++) await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key }, remoteAddress: `203.0.113.${i}` })
  t.same(h.anomalies, [])
})

t.test('100k distinct bad keys leave the cache empty and memory bounded; a good key stays cached', async (t) => {
  const store = memoryStore()
  let lookups = 0
  const findByHash = store.apiKeys.findByHash.bind(store.apiKeys)
  store.apiKeys.findByHash = async (hash) => { lookups++; return await findByHash(hash) }
  const h = await harness(t, { cache: { max: 100 } }, store, routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'good' })
  t.ok(await h.keys.verify(key))
  t.equal(h.keys.cacheSize, 1)
  const strategy = h.app.gatekeeper.strategy('apiKey')
  let refused = 0
  const flood = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) {
      // Half are well formed (they reach the store and miss), half fail the checksum.
      const bad = i % 2 === 0 ? generateKey('gk') : `${generateKey('gk').slice(0, -1)}!`
      const request = { url: '/whoami', headers: { 'x-api-key': bad }, ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` } as never
      try {
        await strategy?.authenticate(request, {} as never)
      } catch (err) {
        if ((err as { code?: string }).code === 'GK_TOKEN_INVALID') refused++
      }
    }
  }
  // A first 10k settle what is allocated once (compiled code, inline caches, pools), so the measured 100k
  // show only what scales with the flood; two collections also run finalizers and clear weak references.
  await flood(0, 10_000)
  const settledHeap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed }
  const heapBefore = settledHeap()
  await flood(10_000, 110_000)
  t.equal(refused, 110_000)
  t.equal(h.keys.cacheSize, 1, 'no failure was cached and the good key was not pushed out')
  t.equal(lookups, 1 + 55_000, 'only well-formed keys reached the store')
  const grown = settledHeap() - heapBefore
  // 100k retained entries of any kind would be several MiB; what is left must not scale with the flood.
  t.ok(grown < 4 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(2)} MiB`)
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })).statusCode, 200)
})
