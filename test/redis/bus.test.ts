import t, { type Test } from 'tap'
import type { Redis } from 'ioredis'
import { LOG_KEEP_MS, RevocationBus, type Revocation } from '../../lib/redis/bus.js'
import { adminClient, RedisProxy, redisClient, requireRedis, uniquePrefix, until } from './env.js'

interface LogLine { level: string, msg: string }

function logger (): { log: any, lines: LogLine[] } {
  const lines: LogLine[] = []
  const at = (level: string) => (a: unknown, b?: unknown) => { lines.push({ level, msg: String(typeof a === 'string' ? a : b) }) }
  const log: any = { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug'), trace: at('trace'), fatal: at('fatal') }
  log.child = () => log
  return { log, lines }
}

async function bus (t: Test, prefix: string, client: Redis = redisClient(t)): Promise<{ bus: RevocationBus, heard: Revocation[], lines: LogLine[] }> {
  const heard: Revocation[] = []
  const { log, lines } = logger()
  const b = new RevocationBus({ client, prefix, log, onRevoke: (r) => heard.push(r) })
  t.teardown(() => b.close())
  await b.start()
  // The first connection also replays the log (empty here): wait for it, so what each test hears is only what it publishes.
  await until(() => lines.some((l) => l.msg.includes('subscribed')), 2000)
  return { bus: b, heard, lines }
}

if (await requireRedis(t)) {
  t.test('a revocation published by one instance reaches the others, not itself', async (t) => {
    const prefix = uniquePrefix('bus')
    adminClient(t, prefix)
    const [a, b, c] = await Promise.all([bus(t, prefix), bus(t, prefix), bus(t, prefix)])
    t.equal(await a.bus.publish({ kind: 'apikey', id: 'key-1' }), true)
    const ms = await until(() => b.heard.length === 1 && c.heard.length === 1, 1000)
    t.comment(`delivered to two subscribers in ${ms.toFixed(1)} ms`)
    t.same(b.heard, [{ kind: 'apikey', id: 'key-1' }])
    t.same(a.heard, [], 'the publisher evicted locally already')
  })

  t.test('another prefix is another channel', async (t) => {
    const p1 = uniquePrefix('bus1')
    const p2 = uniquePrefix('bus2')
    adminClient(t, p1)
    adminClient(t, p2)
    const [a, b, other] = await Promise.all([bus(t, p1), bus(t, p1), bus(t, p2)])
    await a.bus.publish({ kind: 'apikey', id: 'k' })
    await until(() => b.heard.length === 1, 1000)
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.same(other.heard, [])
  })

  t.test('malformed messages on the channel are ignored and logged', async (t) => {
    const prefix = uniquePrefix('junk')
    const admin = adminClient(t, prefix)
    const b = await bus(t, prefix)
    for (const junk of ['not json', '{}', JSON.stringify({ k: 'user', id: 'x', o: 'y' }), JSON.stringify({ k: 'apikey', id: '', o: 'y' }),
      JSON.stringify({ k: 'apikey', id: 'x'.repeat(201), o: 'y' }), JSON.stringify({ k: 'apikey', id: 'x' })]) {
      await admin.publish(b.bus.channel, junk)
    }
    await admin.publish(b.bus.channel, JSON.stringify({ k: 'apikey', id: 'good', o: 'elsewhere' }))
    await until(() => b.heard.length === 1, 1000)
    t.same(b.heard, [{ kind: 'apikey', id: 'good' }])
    t.equal(b.lines.filter((l) => l.msg.includes('malformed')).length, 6)
  })

  t.test('the log keeps recent revocations with a TTL; resync applies them', async (t) => {
    const prefix = uniquePrefix('log')
    const admin = adminClient(t, prefix)
    const a = await bus(t, prefix)
    const b = await bus(t, prefix)
    await a.bus.publish({ kind: 'apikey', id: 'k1' })
    await a.bus.publish({ kind: 'apikey', id: 'k2' })
    await a.bus.publish({ kind: 'session', id: 'family-1' })
    await a.bus.publish({ kind: 'user-sessions', id: 'user-1' })
    await admin.zadd(a.bus.logKey, 1, 'unknown-kind:x')
    const ttl = await admin.pttl(a.bus.logKey)
    t.ok(ttl > 0 && ttl <= LOG_KEEP_MS, `log expires in ${ttl} ms`)
    await until(() => b.heard.some((r) => r.id === 'user-1'), 1000)
    t.same(b.heard.filter((r) => r.kind !== 'apikey'), [{ kind: 'session', id: 'family-1' }, { kind: 'user-sessions', id: 'user-1' }], 'ended sessions travel too')
    b.heard.length = 0
    t.equal(await b.bus.resync(), 4)
    t.same(b.heard.map((r) => `${r.kind}:${r.id}`).sort(), ['apikey:k1', 'apikey:k2', 'session:family-1', 'user-sessions:user-1'])
  })

  t.test('a subscriber that was cut off replays what it missed once it is back', async (t) => {
    const prefix = uniquePrefix('replay')
    adminClient(t, prefix)
    const proxy = new RedisProxy()
    await proxy.start()
    t.teardown(() => proxy.stop())
    const cut = redisClient(t, proxy.url)
    cut.on('error', () => {})
    const a = await bus(t, prefix)
    const b = await bus(t, prefix, cut)
    await proxy.stop()
    await until(() => cut.status !== 'ready', 1000)
    await a.bus.publish({ kind: 'apikey', id: 'missed' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(b.heard, [], 'nothing heard while cut off')
    t.equal(await b.bus.publish({ kind: 'apikey', id: 'from-b' }), false, 'a publication while down is kept')
    t.equal(b.bus.pending, 1)
    await proxy.start()
    const ms = await until(() => b.heard.some((r) => r.id === 'missed'), 3000)
    t.comment(`replayed ${ms.toFixed(0)} ms after Redis was reachable again`)
    await until(() => a.heard.some((r) => r.id === 'from-b'), 3000)
    t.equal(b.bus.pending, 0, 'the kept publication was sent on reconnect')
    t.ok(b.lines.some((l) => l.level === 'warn' && l.msg.includes('lost Redis')), 'the outage was logged')
  })

  t.test('a revocation that timed out on a stalled Redis is sent with the next one', async (t) => {
    const prefix = uniquePrefix('stall')
    adminClient(t, prefix)
    const proxy = new RedisProxy()
    await proxy.start()
    t.teardown(() => proxy.stop())
    const a = await bus(t, prefix, redisClient(t, proxy.url))
    const b = await bus(t, prefix)
    proxy.stall(true)
    t.equal(await a.bus.publish({ kind: 'apikey', id: 'stalled' }), false, 'timed out')
    t.equal(a.bus.pending, 1)
    proxy.stall(false)
    await a.bus.publish({ kind: 'apikey', id: 'next' })
    await until(() => ['stalled', 'next'].every((id) => b.heard.some((r) => r.id === id)), 2000)
    t.equal(a.bus.pending, 0)
  })

  t.test('close stops listening; a closed bus keeps nothing', async (t) => {
    const prefix = uniquePrefix('close')
    adminClient(t, prefix)
    const a = await bus(t, prefix)
    const b = await bus(t, prefix)
    await b.bus.close()
    await a.bus.publish({ kind: 'apikey', id: 'late' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.same(b.heard, [])
    const client = redisClient(t)
    const c = new RevocationBus({ client, prefix, log: logger().log, onRevoke: () => {} })
    await c.close()
    client.disconnect()
    t.equal(await c.publish({ kind: 'apikey', id: 'x' }), false)
    t.equal(c.pending, 0)
  })

  t.test('a throwing onRevoke is logged, not fatal', async (t) => {
    const prefix = uniquePrefix('throw')
    adminClient(t, prefix)
    const { log, lines } = logger()
    const client = redisClient(t)
    const b = new RevocationBus({ client, prefix, log, onRevoke: () => { throw new Error('boom') } })
    t.teardown(() => b.close())
    await b.start()
    const a = await bus(t, prefix)
    await a.bus.publish({ kind: 'apikey', id: 'k' })
    await until(() => lines.some((l) => l.level === 'error'), 1000)
    t.pass('still running')
  })
}
