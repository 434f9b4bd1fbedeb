import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { memoryCounters } from '../../lib/protection/counters.js'
import { rateLimitKey, rateLimitStore } from '../../lib/protection/rate-limit.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { headerStrategy } from '../helpers.js'

async function limitedApp (rateLimit: GatekeeperOptions['rateLimit'], fastifyOpts: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, clock: { now: number } }> {
  const clock = { now: 1_700_000_000_000 }
  const app = Fastify(fastifyOpts)
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, rateLimit })
  app.gatekeeper.registerStrategy(headerStrategy(app))
  app.get('/open', { config: { auth: false } }, async () => 'ok')
  app.get('/me', async (req) => ({ subject: req.auth?.subject }))
  app.get('/strict', { config: { rateLimit: { max: 1, timeWindow: 60_000 } } }, async () => 'ok')
  return { app, clock }
}

const RATE_LIMITED = { statusCode: 429, code: 'GK_RATE_LIMITED', error: 'Too Many Requests' }

t.test('anonymous callers are limited by address, with draft RateLimit headers and Retry-After', async (t) => {
  const { app, clock } = await limitedApp({ max: 2, timeWindow: '1m' })
  t.teardown(() => app.close())
  const first = await app.inject('/open')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['ratelimit-limit'], '2')
  t.equal(first.headers['ratelimit-remaining'], '1')
  t.equal(first.headers['ratelimit-reset'], '60')
  clock.now += 15_000
  t.equal((await app.inject('/open')).statusCode, 200)
  const third = await app.inject('/open')
  t.equal(third.statusCode, 429)
  t.match(third.json(), RATE_LIMITED)
  t.equal(third.headers['retry-after'], '45', 'the window started 15 s ago')
  t.equal(third.headers['ratelimit-remaining'], '0')
  const other = await app.inject({ url: '/open', remoteAddress: '198.51.100.1' })
  t.equal(other.statusCode, 200, 'another address has its own budget')
  clock.now += 45_000
  t.equal((await app.inject('/open')).statusCode, 200, 'a new window after Retry-After')
})

t.test('authenticated callers are limited by subject, whatever their address', async (t) => {
  const { app } = await limitedApp({ max: 2 })
  t.teardown(() => app.close())
  const as = (user: string, ip: string) => app.inject({ url: '/me', headers: { 'x-test-user': user }, remoteAddress: ip })
  t.equal((await as('alice', '10.0.0.1')).statusCode, 200)
  t.equal((await as('alice', '10.0.0.2')).statusCode, 200)
  t.equal((await as('alice', '10.0.0.3')).statusCode, 429, 'a new address does not reset alice')
  t.equal((await as('bob', '10.0.0.1')).statusCode, 200, 'bob behind the same NAT is not limited by alice')
  t.equal((await app.inject({ url: '/open', remoteAddress: '10.0.0.1' })).statusCode, 200, 'the anonymous budget of the address is separate')
})

t.test('IPv6 callers of one /64 share a budget', async (t) => {
  const { app } = await limitedApp({ max: 1 })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/open', remoteAddress: '2001:db8:1:2::1' })).statusCode, 200)
  t.equal((await app.inject({ url: '/open', remoteAddress: '2001:db8:1:2:9:9:9:9' })).statusCode, 429)
  t.equal((await app.inject({ url: '/open', remoteAddress: '2001:db8:1:3::1' })).statusCode, 200)
})

t.test('X-Forwarded-For is ignored unless trustProxy says otherwise', async (t) => {
  const { app } = await limitedApp({ max: 1 })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/open', headers: { 'x-forwarded-for': '1.1.1.1' } })).statusCode, 200)
  t.equal((await app.inject({ url: '/open', headers: { 'x-forwarded-for': '2.2.2.2' } })).statusCode, 429, 'rotating the header changes nothing')

  const proxied = await limitedApp({ max: 1 }, { trustProxy: '127.0.0.1' })
  t.teardown(() => proxied.app.close())
  t.equal((await proxied.app.inject({ url: '/open', headers: { 'x-forwarded-for': '1.1.1.1' } })).statusCode, 200)
  t.equal((await proxied.app.inject({ url: '/open', headers: { 'x-forwarded-for': '2.2.2.2' } })).statusCode, 200, 'behind a trusted proxy the forwarded address counts')
})

t.test('a route config.rateLimit still works, in its own namespace', async (t) => {
  const { app } = await limitedApp({ max: 5 })
  t.teardown(() => app.close())
  const h = { 'x-test-user': 'carol' }
  t.equal((await app.inject({ url: '/strict', headers: h })).statusCode, 200)
  const res = await app.inject({ url: '/strict', headers: h })
  t.equal(res.statusCode, 429)
  t.match(res.json(), RATE_LIMITED)
  t.equal((await app.inject({ url: '/me', headers: h })).statusCode, 200, 'the global budget is untouched')
})

t.test('global: false limits only routes that ask for it; false on a route exempts it', async (t) => {
  const clock = { now: 0 }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, rateLimit: { max: 1, global: false } })
  app.get('/free', { config: { auth: false } }, async () => 'ok')
  app.get('/limited', { config: { auth: false, rateLimit: { max: 1 } } }, async () => 'ok')
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await app.inject('/free')).statusCode, 200)
  await app.inject('/limited')
  t.equal((await app.inject('/limited')).statusCode, 429)
})

t.test('the allow list exempts callers by rate-limit key', async (t) => {
  const { app } = await limitedApp({ max: 1, allowList: ['sub:monitor'] })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/me', headers: { 'x-test-user': 'monitor' } })).statusCode, 200)
})

t.test('an allow-listed IPv6 address exempts its /64, as the limits count it', async (t) => {
  const { app } = await limitedApp({ max: 1, allowList: ['ip:2001:db8::1'] })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/open', remoteAddress: '2001:db8::99' })).statusCode, 200)
  await app.inject({ url: '/open', remoteAddress: '2001:db9::1' })
  t.equal((await app.inject({ url: '/open', remoteAddress: '2001:db9::1' })).statusCode, 429, 'another /64 is limited')
})

t.test('an unauthenticated request to a protected route is refused by authentication first (401, not counted)', async (t) => {
  const { app } = await limitedApp({ max: 1 })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await app.inject('/me')).statusCode, 401)
  t.equal((await app.inject('/open')).statusCode, 200, 'the address budget is untouched')
})

t.test('rateLimitKey names the kind of caller', async (t) => {
  const req = (auth: unknown, ip = '192.0.2.1') => ({ auth, ip }) as never
  t.equal(rateLimitKey(req(null)), 'ip:192.0.2.1')
  t.equal(rateLimitKey(req(null, '2001:db8::5')), 'ip:2001:db8:0:0::/64')
  t.equal(rateLimitKey(req({ subject: '42' })), 'sub:42')
  t.equal(rateLimitKey(req({ subject: '42', keyId: 'k1' })), 'sub:42', 'an API key counts for its owner')
  t.equal(rateLimitKey(req({ subject: '42', keyId: 'k1' }), 'credential'), 'key:k1', 'or on its own')
  t.equal(rateLimitKey(req({ subject: '42' }), 'credential'), 'sub:42')
})

t.test('the rate-limit store reads without counting and reports store errors', async (t) => {
  const clock = { now: 0 }
  const Store = rateLimitStore(memoryCounters({ now: () => clock.now }), () => clock.now)
  const store = new Store({}) as { incr: Function, read: Function, child: Function }
  const call = (fn: Function, ...args: unknown[]) => new Promise((resolve, reject) => fn(...args.slice(0, 1), (err: Error | null, r: unknown) => err ? reject(err) : resolve(r), ...args.slice(1)))
  t.same(await call(store.read.bind(store), 'k', 1000), { current: 0, ttl: 0 })
  t.same(await call(store.incr.bind(store), 'k', 1000, 5), { current: 1, ttl: 1000 })
  clock.now += 200
  t.same(await call(store.read.bind(store), 'k', 1000), { current: 1, ttl: 800 })
  const child = store.child({ routeInfo: { method: 'GET', url: '/x' } })
  t.same(await call(child.incr.bind(child), 'k', 1000, 5), { current: 1, ttl: 1000 }, 'a route counts apart')
  const other = store.child({ routeInfo: {} })
  t.same(await call(other.incr.bind(other), 'k', 1000, 5), { current: 1, ttl: 1000 })

  const broken = { increment: async () => { throw new Error('down') }, get: async () => { throw new Error('down') } }
  const Bad = rateLimitStore(broken as never, () => 0)
  const bad = new Bad({}) as { incr: Function, read: Function }
  await t.rejects(call(bad.incr.bind(bad), 'k', 1000, 5), /down/)
  await t.rejects(call(bad.read.bind(bad), 'k', 1000), /down/)
})
