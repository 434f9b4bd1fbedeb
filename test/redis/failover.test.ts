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

/** A client whose status and PING answers the test sets. */
function fakeClient (): { status: string, pings: number, answer: 'pong' | 'fail' | 'hang', ping: () => Promise<string> } {
  const c = {
    status: 'ready',
    pings: 0,
    answer: 'pong' as 'pong' | 'fail' | 'hang',
    async ping (): Promise<string> {
      c.pings++
      if (c.answer === 'fail') throw new Error('Connection is closed.')
      if (c.answer === 'hang') await new Promise(() => {})
      return 'PONG'
    }
  }
  return c
}

// The health's timers are unref'd (they must not keep an app alive); this keeps the test process alive.
const keepAlive = setInterval(() => {}, 1000)
t.teardown(() => { clearInterval(keepAlive) })

const tick = async (ms = 0): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('fail open: a failing Redis falls back to memory, logged once; Redis again once a probe answers', async (t) => {
  const { store: primary, down } = flaky()
  const client = fakeClient()
  client.answer = 'fail'
  const health = new RedisHealth(client as never, { stallMs: 50, probeMs: 20 })
  t.teardown(() => health.close())
  const { log, lines } = recorder()
  const store = new FailoverCounterStore({ primary, health, fallback: memoryCounters(), log, what: 'brute-force counters' })
  t.equal((await store.increment('k', 60_000)).value, 1, 'from Redis')
  down.value = true
  t.equal((await store.increment('k', 60_000)).value, 1, 'from memory: a fresh count')
  t.equal(store.degraded, true)
  t.equal(health.available, false, 'held down after the failure')
  t.equal((await store.increment('k', 60_000)).value, 2, 'memory again, without trying Redis')
  t.equal(lines.filter((l) => l.startsWith('warn')).length, 1, 'one warning per outage')
  down.value = false
  await tick(50)
  t.ok(client.pings >= 2, 'probed at once, then every probeMs')
  t.equal((await store.increment('k', 60_000)).value, 3, 'probes unanswered: still memory')
  client.answer = 'pong'
  await tick(40)
  t.equal(health.available, true, 'a probe answered')
  t.equal((await store.increment('k', 60_000)).value, 2, 'Redis again')
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
  const health = new RedisHealth({ status: 'ready', eval: async () => { throw new Error('down') } } as never, { probeMs: 10 })
  t.teardown(() => health.close())
  const store = new FailoverCounterStore({ primary, health, fallback: null, log, what: 'brute-force counters' })
  down.value = true
  await t.rejects(store.increment('k', 1000), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(store.get('k'), { code: 'GK_STORE_UNAVAILABLE' })
  t.match(lines, [/fail closed \(503\)/])
})

t.test('a stall: the command waiting longer than stallMs and every other one waiting are released at once; the next ones do not ask', async (t) => {
  const client = fakeClient()
  const health = new RedisHealth(client as never, { stallMs: 60, probeMs: 20 })
  t.teardown(() => health.close())
  const silent = (): Promise<number> => new Promise(() => {})
  const started = performance.now()
  const first = health.run(silent)
  await tick(30)
  const second = health.run(silent)
  t.equal(health.inFlight, 2)
  client.answer = 'hang'
  await t.rejects(first, { name: 'RedisStalledError', message: 'Redis did not answer within 60 ms' })
  await t.rejects(second, { name: 'RedisStalledError' }, 'the younger one too, 30 ms early')
  const waited = performance.now() - started
  t.ok(waited >= 55 && waited < 400, `released after ${Math.round(waited)} ms`)
  t.equal(health.inFlight, 0)
  t.equal(health.available, false, 'held down')
  await tick(150)
  t.equal(health.available, false, 'probes that hang do not bring it back')
  client.answer = 'pong'
  await tick(80)
  t.equal(health.available, true, 'a probe answered in time')
  t.equal(await health.run(async () => 7), 7)
})

t.test('commands answered in time are not released, however many pass through', async (t) => {
  const health = new RedisHealth(fakeClient() as never, { stallMs: 40 })
  t.teardown(() => health.close())
  for (let i = 0; i < 20; i++) t.equal(await health.run(async () => { await tick(5); return i }), i)
  await t.rejects(health.run(async () => { throw new Error('NOSCRIPT') }), { message: 'NOSCRIPT' }, 'a failure is passed on as it is')
  t.equal(await new Promise((resolve) => { health.watch<number>(() => { throw new Error('sync') }, (err) => { resolve(err?.message) }) }), 'sync', 'a command that throws at once is a failure')
  await tick(60)
  t.equal(health.available, true, 'failures are the caller\'s to report (failed())')
  health.failed()
  t.equal(health.available, false)
  await tick(10)
  t.equal(health.available, true, 'the immediate probe answered')
})

t.test('a closed health stops probing', async (t) => {
  const client = fakeClient()
  client.answer = 'fail'
  const health = new RedisHealth(client as never, { probeMs: 10 })
  health.failed()
  health.close()
  const pings = client.pings
  await tick(50)
  t.equal(client.pings, pings)
  health.failed()
  t.equal(health.available, false)
})

t.test('the rate-limit store maps driver errors to GK_STORE_UNAVAILABLE and holds Redis down', async (t) => {
  const calls: string[] = []
  let fail = false
  const client: any = {
    status: 'ready',
    ping: async () => { if (fail) throw new Error('down'); return 'PONG' },
    defineCommand (name: string) {
      client[name] = (...args: unknown[]) => {
        calls.push(name)
        const cb = args[args.length - 1] as (err: Error | null, r?: unknown) => void
        if (fail) cb(new Error('Command timed out'))
        else cb(null, [1, 1000])
      }
    }
  }
  const health = new RedisHealth(client, { probeMs: 20 })
  t.teardown(() => health.close())
  const Store = redisRateLimitStore(client, 'p:', health) as new (p: unknown) => any
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
  t.equal(calls.length, n, 'while held down Redis is not asked')
  fail = false
  await tick(60)
  t.same((await result('read')).res, { current: 1, ttl: 1000 }, 'asked again once a probe answered')
})

t.test('the rate-limit store releases a call that waits on a stalled Redis', async (t) => {
  const client: any = { status: 'ready', ping: () => new Promise(() => {}), defineCommand (name: string) { client[name] = () => {} } }
  const health = new RedisHealth(client, { stallMs: 30 })
  t.teardown(() => health.close())
  const Store = redisRateLimitStore(client, 'p:', health) as new (p: unknown) => any
  const started = performance.now()
  const err = await new Promise<any>((resolve) => { new Store({}).incr('ip:1', (e: any) => resolve(e), 60_000, 10) })
  t.equal(err.code, 'GK_STORE_UNAVAILABLE')
  t.ok(performance.now() - started < 300, 'released when the stall was seen, not at a command timeout')
  t.equal(health.available, false)
})
