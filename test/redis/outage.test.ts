import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { instance, login, PASSWORD, setPassword, sharedStore, WRONG, withKey } from './apps.js'
import { adminClient, keysUnder, REDIS_URL, RedisProxy, redisClient, requireRedis, uniquePrefix, until } from './env.js'

/** An instance whose Redis connection goes through a proxy the test controls; a key for alice. */
async function setup (t: Test, failOpen?: boolean) {
  const prefix = uniquePrefix('outage')
  const admin = adminClient(t, prefix)
  const proxy = new RedisProxy()
  await proxy.start()
  t.teardown(() => proxy.stop())
  const client = redisClient(t, proxy.url)
  const { store, aliceId } = await sharedStore()
  const core = { rateLimit: { max: 2, timeWindow: '1m' }, bruteForce: { account: { max: 2 } } }
  const inst = await instance(t, store, { client, prefix, ...(failOpen === undefined ? {} : { failOpen }) }, core)
  await setPassword(inst.app, store, aliceId)
  const { key } = await inst.app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })
  return { ...inst, proxy, client, admin, prefix, key, aliceId, store }
}

/** Counts console.error calls (ioredis prints unhandled 'error' events there). */
function consoleErrors (t: Test): string[] {
  const seen: string[] = []
  const original = console.error
  console.error = (...args: unknown[]) => { seen.push(args.map(String).join(' ')) }
  t.teardown(() => { console.error = original })
  return seen
}

if (await requireRedis(t)) {
  t.test('fail open (the default): Redis down, requests are not rate limited and logins are counted per instance', async (t) => {
    const s = await setup(t)
    const printed = consoleErrors(t)
    await s.proxy.stop()
    await until(() => s.client.status !== 'ready', 2000)
    let slowest = 0
    for (let i = 0; i < 4; i++) {
      const started = performance.now()
      t.equal((await withKey(s.app, s.key)).statusCode, 200, `request ${i + 1} over a limit of 2 goes through`)
      slowest = Math.max(slowest, performance.now() - started)
    }
    t.comment(`slowest request while Redis was down: ${slowest.toFixed(1)} ms`)
    t.ok(slowest < 1500, 'no request waits for Redis')
    t.equal((await login(s.app, 'alice', WRONG)).statusCode, 401)
    t.equal((await login(s.app, 'alice', WRONG)).statusCode, 401)
    t.equal((await login(s.app, 'alice', PASSWORD)).statusCode, 429, 'the lockout still applies, counted in this instance\'s memory')
    t.same(printed.filter((l) => l.includes('ioredis')), [], 'no unhandled ioredis error event')
    t.equal(s.lines.filter((l) => l.includes('Redis is unreachable; rate limits are skipped')).length, 1, 'the outage is logged once')

    await s.proxy.start()
    await until(() => s.client.status === 'ready', 3000)
    const again = []
    for (let i = 0; i < 3; i++) again.push((await withKey(s.app, s.key)).statusCode)
    t.same(again, [200, 200, 429], 'limits are enforced from Redis again')
    t.ok((await keysUnder(s.admin, `${s.prefix}rl:`)).length > 0)
    t.ok(s.lines.some((l) => l.includes('Redis connection restored')))
  })

  t.test('fail closed: Redis down, rate-limited routes and logins answer 503; authentication still works from the store', async (t) => {
    const s = await setup(t, false)
    await s.proxy.stop()
    await until(() => s.client.status !== 'ready', 2000)
    const limited = await withKey(s.app, s.key)
    t.equal(limited.statusCode, 503)
    t.same(limited.json(), { statusCode: 503, code: 'GK_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'Authentication store unavailable' })
    const unlimited = await withKey(s.app, s.key, '/unlimited')
    t.equal(unlimited.statusCode, 200, 'a route without a rate limit authenticates from the store')
    t.equal(unlimited.json().subject, s.aliceId)
    const refused = await login(s.app, 'alice', PASSWORD)
    t.equal(refused.statusCode, 503)
    t.equal(refused.json().code, 'GK_STORE_UNAVAILABLE')
    t.notOk(refused.body.includes('Connection'), 'no driver message in the response')
    await s.proxy.start()
    await until(() => s.client.status === 'ready', 3000)
    t.equal((await withKey(s.app, s.key)).statusCode, 200, 'recovers by itself')
    t.equal((await login(s.app, 'alice', PASSWORD)).statusCode, 200)
  })

  t.test('a stalled Redis (connected, silent) costs the requests waiting on it stallTimeout, not a command timeout, and the next ones nothing', async (t) => {
    const s = await setup(t)
    await until(() => s.client.status === 'ready', 3000)
    s.proxy.stall(true)
    t.teardown(() => s.proxy.stall(false))
    const started = performance.now()
    const waiting = await Promise.all([1, 2, 3].map(async () => {
      const res = await withKey(s.app, s.key)
      return { status: res.statusCode, ms: performance.now() - started }
    }))
    t.same(waiting.map((w) => w.status), [200, 200, 200], 'three requests waiting together fall back together')
    const times = [...waiting.map((w) => Math.round(w.ms))]
    for (let i = 0; i < 3; i++) {
      const at = performance.now()
      t.equal((await withKey(s.app, s.key)).statusCode, 200)
      times.push(Math.round(performance.now() - at))
    }
    t.comment(`request times while Redis was stalled: ${times.join(', ')} ms (stallTimeout 200 ms, commandTimeout 2000 ms)`)
    t.ok(waiting.every((w) => w.ms >= 150 && w.ms < 1500), 'the requests in flight waited for the stall to be seen, not for the command timeout')
    t.ok(times.slice(3).every((ms) => ms < 150), 'the next ones did not wait')
    const at = performance.now()
    t.equal((await login(s.app, 'alice', WRONG)).statusCode, 401, 'a login is answered')
    t.comment(`login while stalled: ${Math.round(performance.now() - at)} ms`)
    t.equal(s.lines.filter((l) => l.includes('Redis stalled; rate limits are skipped') && l.includes('did not answer within 200 ms')).length, 1, 'the stall is logged once, with its cause')
    s.proxy.stall(false)
    const back = await until(async () => (await withKey(s.app, s.key)).statusCode === 429, 3000)
    t.comment(`limits enforced from Redis again ${Math.round(back)} ms after it answered`)
    t.ok(s.lines.some((l) => l.includes('Redis answers again')))
  })

  t.test('an app starts without Redis, and shares limits and revocations once Redis is there', async (t) => {
    const prefix = uniquePrefix('late')
    adminClient(t, prefix)
    const proxy = new RedisProxy()
    await proxy.start()
    await proxy.stop()
    t.teardown(() => proxy.stop())
    const client = redisClient(t, proxy.url)
    const { store, aliceId } = await sharedStore()
    const started = performance.now()
    const late = await instance(t, store, { client, prefix })
    t.comment(`started without Redis in ${Math.round(performance.now() - started)} ms`)
    t.ok(late.lines.some((l) => l.includes('did not answer at startup')))
    const { key, record } = await late.app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })
    t.equal((await withKey(late.app, key)).statusCode, 200, 'keys work without Redis')
    await proxy.start()
    await until(() => late.lines.some((l) => l.includes('revocation bus is subscribed')), 5000)
    const other = await instance(t, store, { client: redisClient(t), prefix })
    await other.app.gatekeeper.apiKeys.revoke(record.id)
    await until(() => late.app.gatekeeper.apiKeys.cacheSize === 0, 1000)
    t.equal((await withKey(late.app, key)).statusCode, 401)
  })

  t.test('an app that never reached Redis leaves no listener on the client when it closes', async (t) => {
    const proxy = new RedisProxy()
    await proxy.start()
    await proxy.stop()
    const client = redisClient(t, proxy.url)
    const { store } = await sharedStore()
    const inst = await instance(t, store, { client, prefix: uniquePrefix('never') })
    await inst.app.close()
    t.equal(client.listenerCount('ready') + client.listenerCount('error'), 0)
  })

  t.test('a client without timeouts gets a warning at startup', async (t) => {
    const prefix = uniquePrefix('warn')
    adminClient(t, prefix)
    const bare = new Redis(REDIS_URL)
    t.teardown(() => { bare.disconnect() })
    const { store } = await sharedStore()
    const inst = await instance(t, store, { client: bare, prefix })
    t.ok(inst.lines.some((l) => l.includes('no commandTimeout')))
    t.ok(inst.lines.some((l) => l.includes('maxRetriesPerRequest')))
    await inst.app.close()
    t.equal(bare.status, 'ready', 'closing the app leaves the client open: it is yours')
    t.equal(bare.listenerCount('error') + bare.listenerCount('ready'), 0, 'and takes its listeners away')
  })

  t.test('a revocation that could not be published is sent once Redis is back', async (t) => {
    const s = await setup(t)
    const peer = await instance(t, s.store, { client: redisClient(t), prefix: s.prefix })
    const { key, record } = await s.app.gatekeeper.apiKeys.create({ ownerId: s.aliceId, name: 'other' })
    t.equal((await withKey(peer.app, key)).statusCode, 200, 'cached on the peer')
    await s.proxy.stop()
    await until(() => s.client.status !== 'ready', 2000)
    await s.app.gatekeeper.apiKeys.revoke(record.id)
    t.equal(s.app.gatekeeper.redis?.bus.pending, 1)
    await s.proxy.start()
    const ms = await until(() => peer.app.gatekeeper.apiKeys.cacheSize === 0, 5000)
    t.comment(`the peer evicted the key ${Math.round(ms)} ms after Redis came back`)
    t.equal((await withKey(peer.app, key)).statusCode, 401)
  })
}
