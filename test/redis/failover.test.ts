import t from 'tap'
import { memoryCounters, type CounterStore } from '../../lib/protection/counters.js'
import { FailoverCounterStore } from '../../lib/redis/failover.js'
import { RedisHealth } from '../../lib/redis/health.js'
import { redisRateLimitStore } from '../../lib/redis/rate-limit.js'

// Without Redis: a primary that fails on demand, a client whose status the test sets.

function recorder (): { log: any, lines: string[] } {
  const lines: string[] = []
  const at = (level: string) => (a: unknown, b?: unknown) => { lines.push(`${level}: ${String(typeof a === 'string' ? a : b)}`) }
  return { log: { warn: at('warn'), info: at('info'), error: at('error') }, lines }
}

function flaky (): { store: CounterStore, down: { value: boolean } } {
  const inner = memoryCounters()
  const down = { value: false }
  const store = new Proxy(inner, {
    get (target, prop) {
      const v = Reflect.get(target, prop) as unknown
      if (typeof v !== 'function') return v
      return async (...args: unknown[]) => {
        if (down.value) throw new Error('Connection is closed.')
        return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)
      }
    }
  }) as CounterStore
  return { store, down }
}

t.test('fail open: a failing Redis falls back to memory, logged once; Redis again when it answers', async (t) => {
  const { store: primary, down } = flaky()
  const clock = { now: 0 }
  const client = { status: 'ready' }
  const health = new RedisHealth(client as never, 1000, () => clock.now)
  const { log, lines } = recorder()
  const store = new FailoverCounterStore({ primary, health, fallback: memoryCounters(), log, what: 'brute-force counters' })
  t.equal((await store.increment('k', 60_000)).value, 1, 'from Redis')
  down.value = true
  t.equal((await store.increment('k', 60_000)).value, 1, 'from memory: a fresh count')
  t.equal(store.degraded, true)
  t.equal((await store.increment('k', 60_000)).value, 2, 'memory again, without trying Redis during the cool-down')
  t.equal(lines.filter((l) => l.startsWith('warn')).length, 1, 'one warning per outage')
  down.value = false
  t.equal((await store.increment('k', 60_000)).value, 3, 'still cooling down: memory')
  clock.now += 1000
  t.equal((await store.increment('k', 60_000)).value, 2, 'after the cool-down: Redis again')
  t.equal(store.degraded, false)
  t.ok(lines.some((l) => l.includes('Redis is back')))
  client.status = 'reconnecting'
  await store.set('x', 1, 1000)
  t.equal(await primary.get('x'), null, 'a disconnected client is not even tried')
  for (const op of [() => store.get('x'), () => store.setIfAbsent('y', 1, 1000), () => store.delete('x'), () => store.hit('w', 1000, 5), () => store.hits('w', 1000)]) await op()
  t.equal((await store.hits('w', 1000)).count, 1, 'every operation went to memory')
})

t.test('fail closed: every call throws GK_STORE_UNAVAILABLE while Redis is down', async (t) => {
  const { store: primary, down } = flaky()
  const { log, lines } = recorder()
  const store = new FailoverCounterStore({ primary, health: new RedisHealth({ status: 'ready' } as never), fallback: null, log, what: 'brute-force counters' })
  down.value = true
  await t.rejects(store.increment('k', 1000), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(store.get('k'), { code: 'GK_STORE_UNAVAILABLE' })
  t.match(lines, [/fail closed \(503\)/])
})

t.test('the rate-limit store maps driver errors to GK_STORE_UNAVAILABLE and trips the cool-down', async (t) => {
  const calls: string[] = []
  let fail = false
  const client: any = {
    status: 'ready',
    defineCommand (name: string) {
      client[name] = (...args: unknown[]) => {
        calls.push(name)
        const cb = args[args.length - 1] as (err: Error | null, r?: unknown) => void
        if (fail) cb(new Error('Command timed out'))
        else cb(null, [1, 1000])
      }
    }
  }
  const clock = { now: 0 }
  const Store = redisRateLimitStore(client, 'p:', new RedisHealth(client, 500, () => clock.now)) as new (p: unknown) => any
  const store = new Store({})
  const result = (method: 'incr' | 'read', s = store) => new Promise<{ err: any, res: any }>((resolve) => {
    s[method]('ip:1', (err: any, res: any) => resolve({ err, res }), 60_000, 10)
  })
  t.same((await result('incr')).res, { current: 1, ttl: 1000 })
  t.same((await result('read')).res, { current: 1, ttl: 1000 })
  const child = store.child({ routeInfo: { method: 'GET', url: '/x' } })
  t.same((await result('incr', child)).res, { current: 1, ttl: 1000 }, 'a route child')
  fail = true
  const failed = await result('incr')
  t.equal(failed.err.code, 'GK_STORE_UNAVAILABLE')
  t.notMatch(failed.err.message, /timed out/, 'no driver message')
  const n = calls.length
  t.equal((await result('read')).err.code, 'GK_STORE_UNAVAILABLE')
  t.equal(calls.length, n, 'during the cool-down Redis is not asked')
  clock.now += 500
  fail = false
  t.same((await result('read')).res, { current: 1, ttl: 1000 }, 'asked again after it')
})
