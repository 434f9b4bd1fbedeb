import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

async function keyApp (rateLimit: GatekeeperOptions['rateLimit'], store: GatekeeperStore = memoryStore()): Promise<{ app: FastifyInstance, clock: { now: number }, ownerId: string }> {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const app = Fastify()
  await app.register(gatekeeper, { store, now: () => clock.now, rateLimit })
  await app.register(apiKey, { routes: false })
  app.get('/data', async (req) => ({ key: req.auth?.keyId }))
  await app.ready()
  const owner = await store.users.create({ username: 'owner', passwordHash: null, roles: ['user'] })
  return { app, clock, ownerId: owner.id }
}

t.test('an API key with its own rateLimit gets that budget and window, counted apart; others share their owner\'s', async (t) => {
  const { app, clock, ownerId } = await keyApp({ max: 5, timeWindow: '1m' })
  t.teardown(() => app.close())
  const tight = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'tight', rateLimit: { max: 2, timeWindow: '2m' } })
  const plain = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'plain' })
  const other = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'other' })
  const get = (key: string) => app.inject({ url: '/data', headers: { 'x-api-key': key } })

  const first = await get(tight.key)
  t.equal(first.headers['ratelimit-limit'], '2')
  t.equal(first.headers['ratelimit-reset'], '120')
  t.equal((await get(tight.key)).statusCode, 200)
  const over = await get(tight.key)
  t.equal(over.statusCode, 429)
  t.equal(over.json().code, 'GK_RATE_LIMITED')
  t.equal(over.headers['retry-after'], '120')

  for (let i = 0; i < 5; i++) t.equal((await get(i % 2 === 0 ? plain.key : other.key)).statusCode, 200, `plain key request ${i + 1}`)
  const plainOver = await get(plain.key)
  t.equal(plainOver.statusCode, 429, 'the default budget applies, shared by the owner\'s keys')
  t.equal(plainOver.headers['ratelimit-limit'], '5')

  clock.now += 120_000
  t.equal((await get(tight.key)).statusCode, 200, 'the key\'s own window has passed')
})

t.test('a key\'s own budget is capped by the operator\'s: max at most max, window at least timeWindow', async (t) => {
  const { app, ownerId } = await keyApp({ max: 3, timeWindow: '1m' })
  t.teardown(() => app.close())
  const loose = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'loose', rateLimit: { max: 100, timeWindow: '10s' } })
  const res = await app.inject({ url: '/data', headers: { 'x-api-key': loose.key } })
  t.equal(res.headers['ratelimit-limit'], '3')
  t.equal(res.headers['ratelimit-reset'], '60')
})

t.test('keys of one owner share its budget; per: \'credential\' counts each key apart', async (t) => {
  for (const [per, expected] of [[undefined, 429], ['credential', 200]] as const) {
    const { app, ownerId } = await keyApp({ max: 1, ...(per === undefined ? {} : { per }) })
    t.teardown(() => app.close())
    const a = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'a' })
    const b = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'b' })
    t.equal((await app.inject({ url: '/data', headers: { 'x-api-key': a.key } })).statusCode, 200)
    t.equal((await app.inject({ url: '/data', headers: { 'x-api-key': b.key } })).statusCode, expected, `per ${per ?? 'owner (default)'}`)
  }
})

t.test('perKey: false ignores the key records', async (t) => {
  const { app, ownerId } = await keyApp({ max: 3, perKey: false })
  t.teardown(() => app.close())
  const tight = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'tight', rateLimit: { max: 1, timeWindow: '10s' } })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/data', headers: { 'x-api-key': tight.key } })).statusCode, 200)
})

t.test('a key\'s limit is read once and cached; a store failure falls back to the default limit', async (t) => {
  const store = memoryStore()
  let reads = 0
  let broken = false
  const findById = store.apiKeys.findById.bind(store.apiKeys)
  store.apiKeys.findById = async (id) => {
    reads++
    if (broken) throw new Error('database down')
    return await findById(id)
  }
  const { app, clock, ownerId } = await keyApp({ max: 4 }, store)
  t.teardown(() => app.close())
  const k = await app.gatekeeper.apiKeys!.create({ ownerId, name: 'k', rateLimit: { max: 2, timeWindow: '1m' } })
  const get = () => app.inject({ url: '/data', headers: { 'x-api-key': k.key } })
  await get()
  await get()
  t.equal(reads, 1, 'one lookup for two requests')
  clock.now += 60_000
  broken = true
  const res = await get()
  t.equal(res.statusCode, 200)
  t.equal(res.headers['ratelimit-limit'], '4', 'the default limit while the record cannot be read')
})
