import Fastify, { type FastifyInstance } from 'fastify'
import { parseList } from 'structured-headers'
import t, { type Test } from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { RateLimitOptions } from '../../lib/protection/index.js'
import { structuredFields } from '../../lib/protection/ratelimit-headers.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { headerStrategy } from '../helpers.js'

async function limited (rateLimit: RateLimitOptions): Promise<{ app: FastifyInstance, clock: { now: number } }> {
  const clock = { now: 1_700_000_000_000 }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, rateLimit, audit: { log: false } })
  app.gatekeeper.registerStrategy(headerStrategy(app))
  await app.register(apiKey, { routes: false })
  app.get('/open', { config: { auth: false } }, async () => 'ok')
  app.get('/me', async () => 'ok')
  app.get('/strict', { config: { auth: false, rateLimit: { max: 1, timeWindow: 30_000 } } }, async () => 'ok')
  app.get('/hourly', { config: { auth: false, rateLimit: { max: 5, timeWindow: '1h' } } }, async () => 'ok')
  app.get('/spelled', { config: { auth: false, rateLimit: { max: 5, timeWindow: '1 minute' } } }, async () => 'ok')
  app.get('/computed', { config: { auth: false, rateLimit: { max: 5, timeWindow: () => 10_000 } } }, async () => 'ok')
  await app.ready()
  return { app, clock }
}

/** Parses one structured field with the structured-headers library (RFC 9651) and returns its single item. */
function item (t: Test, value: unknown, name: string): { policy: unknown, params: Map<string, unknown> } {
  t.type(value, 'string', `${name} is sent once`)
  const list = parseList(value as string)
  t.equal(list.length, 1, `${name}: a List of one policy`)
  const [policy, params] = list[0] as [unknown, Map<string, unknown>]
  return { policy, params }
}

t.test("headers: 'structured' sends RateLimit and RateLimit-Policy as RFC 9651 structured fields, and nothing else", async (t) => {
  const { app, clock } = await limited({ max: 3, timeWindow: '1m', headers: 'structured' })
  t.teardown(() => app.close())
  const first = await app.inject('/open')
  t.equal(first.statusCode, 200)
  const policy = item(t, first.headers['ratelimit-policy'], 'RateLimit-Policy')
  t.equal(policy.policy, 'default', 'the policy is a String naming it')
  t.same(Object.fromEntries(policy.params), { q: 3, w: 60 }, 'quota 3 per 60 s')
  const limit = item(t, first.headers.ratelimit, 'RateLimit')
  t.equal(limit.policy, 'default')
  t.same(Object.fromEntries(limit.params), { r: 2, t: 60 })
  for (const old of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) t.notOk(old in first.headers, `no ${old}`)

  clock.now += 20_000
  await app.inject('/open')
  const refused = await app.inject('/open')
  const after = await app.inject('/open')
  t.equal(after.statusCode, 429)
  t.same(Object.fromEntries(item(t, after.headers.ratelimit, 'RateLimit on a 429').params), { r: 0, t: 40 }, 'nothing left, 40 s to the reset')
  t.equal(after.headers['retry-after'], '40', 'Retry-After still comes with a 429')
  t.equal(refused.statusCode, 200)
})

t.test("a route's own limit and an API key's own budget are named as their own policies", async (t) => {
  const { app } = await limited({ max: 100, headers: 'structured' })
  t.teardown(() => app.close())
  const strict = await app.inject('/strict')
  const policy = item(t, strict.headers['ratelimit-policy'], 'RateLimit-Policy')
  t.equal(policy.policy, 'route')
  t.same(Object.fromEntries(policy.params), { q: 1, w: 30 })

  t.same(Object.fromEntries(item(t, (await app.inject('/hourly')).headers['ratelimit-policy'], 'RateLimit-Policy').params), { q: 5, w: 3600 }, 'a window given as a duration')
  const spelled = await app.inject('/spelled')
  t.equal(spelled.headers['ratelimit-limit'], undefined)
  t.equal(spelled.headers['ratelimit-policy'], '"route";q=5;w=60', "a window spelled out as @fastify/rate-limit users write it ('1 minute') is read as its seconds")
  t.same(Object.fromEntries(item(t, (await app.inject('/computed')).headers['ratelimit-policy'], 'RateLimit-Policy').params), { q: 5 }, 'a computed window is left out (w is optional)')

  const user = await app.gatekeeper.store.users.create({ username: 'ops', passwordHash: null, roles: [] })
  const { key } = await app.gatekeeper.apiKeys.create({ ownerId: user.id, name: 'job', rateLimit: { max: 5, timeWindow: '2m' } } as never)
  const byKey = await app.inject({ url: '/me', headers: { 'x-api-key': key } })
  t.equal(byKey.statusCode, 200)
  const keyPolicy = item(t, byKey.headers['ratelimit-policy'], 'RateLimit-Policy')
  t.equal(keyPolicy.policy, 'key')
  t.same(Object.fromEntries(keyPolicy.params), { q: 5, w: 120 }, 'the key\'s own quota and window')
  t.same(Object.fromEntries(item(t, byKey.headers.ratelimit, 'RateLimit').params), { r: 4, t: 120 })
})

t.test("the default stays 'separate'; 'both' sends the two forms together", async (t) => {
  const { app } = await limited({ max: 3 })
  t.teardown(() => app.close())
  const res = await app.inject('/open')
  t.same([res.headers['ratelimit-limit'], res.headers['ratelimit-remaining'], res.headers['ratelimit-reset']], ['3', '2', '60'])
  t.notOk('ratelimit' in res.headers)
  t.notOk('ratelimit-policy' in res.headers)
  const both = await limited({ max: 3, headers: 'both' })
  t.teardown(() => both.app.close())
  const r2 = await both.app.inject('/open')
  t.equal(r2.headers['ratelimit-limit'], '3')
  t.same(Object.fromEntries(item(t, r2.headers.ratelimit, 'RateLimit').params), { r: 2, t: 60 })
})

t.test('rateLimit.headers is validated, and the fields serialize as the library parses them', async (t) => {
  const app = Fastify()
  await t.rejects(async () => { await app.register(gatekeeper, { store: memoryStore(), rateLimit: { headers: 'draft' as never } }) }, { code: 'GK_CONFIG', message: /rateLimit.headers must be one of 'separate', 'structured', 'both'/ })
  const f = structuredFields({ name: 'route', window: null }, 10.7, -1, 3.2)
  t.same(parseList(f.rateLimitPolicy), [['route', new Map([['q', 10]])]], 'no window when it cannot be told')
  t.same(parseList(f.rateLimit), [['route', new Map([['r', 0], ['t', 3]])]], 'integers, never negative')
})
