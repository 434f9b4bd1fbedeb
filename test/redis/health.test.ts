import t from 'tap'
import { RedisHealth } from '../../lib/redis/health.js'
import { ready } from './apps.js'
import { RedisProxy, redisClient, requireRedis, until } from './env.js'

// RedisHealth against a real Redis: a busy process is not a stalled Redis; a silent one is.
if (await requireRedis(t)) {
  t.test('a process busier than stallMs does not take an answer already received for a stall', async (t) => {
    const client = redisClient(t)
    await until(() => ready(client), 3000)
    const health = new RedisHealth(client, { stallMs: 50 })
    t.teardown(() => health.close())
    for (let round = 0; round < 3; round++) {
      const answer = health.run(() => client.ping())
      // The answer arrives while the event loop is blocked, and the stall timer is overdue when it unblocks.
      // Blocked long enough (12 × stallMs) for a Redis on a busy machine to have answered by then.
      const until = performance.now() + 600
      while (performance.now() < until) { /* busy */ }
      t.equal(await answer, 'PONG', `round ${round + 1}: answered`)
    }
    t.equal(health.available, true, 'not held down')
  })

  t.test('a silent Redis is held down after stallMs, and used again once it answers', async (t) => {
    const proxy = new RedisProxy()
    await proxy.start()
    t.teardown(() => proxy.stop())
    const client = redisClient(t, proxy.url)
    await until(() => ready(client), 3000)
    const health = new RedisHealth(client, { stallMs: 100, probeMs: 100 })
    t.teardown(() => health.close())
    proxy.stall(true)
    const started = performance.now()
    await t.rejects(health.run(() => client.ping()), { name: 'RedisStalledError' })
    const ms = performance.now() - started
    t.ok(ms < 1000, `released after ${Math.round(ms)} ms (command timeout 2000 ms)`)
    t.equal(health.available, false)
    proxy.stall(false)
    const back = await until(() => health.available, 2000)
    t.comment(`used again ${Math.round(back)} ms after Redis answered`)
    t.equal(await health.run(() => client.ping()), 'PONG')
  })
}
