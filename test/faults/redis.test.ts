import { randomBytes } from 'node:crypto'
import t from 'tap'
import { call, Instance, percentile, rate, sleep, startAll, until, type Answer } from './cluster.js'
import { PostgresServer, RedisServer, requireTools, Sandbox } from './services.js'

// Redis killed and Redis stalled under load: three instances over our own Postgres and Redis,
// A and B failing open (the default), C failing closed.
const PASSWORD = 'correct horse battery staple'

const tools = requireTools(t)
if (tools !== null) {
  const sandbox = new Sandbox(t, 'redis')
  const postgres = new PostgresServer(sandbox, tools)
  const redis = new RedisServer(sandbox, tools)
  await Promise.all([postgres.start(), redis.start()])
  const env = (failOpen: boolean): Record<string, string> => ({
    GK_PG_URL: postgres.url,
    GK_REDIS_URL: redis.url,
    GK_REDIS_PREFIX: 'faults:',
    GK_FAIL_OPEN: String(failOpen),
    GK_JWT_SECRET: randomBytes(32).toString('base64url')
  })
  const shared = env(true)
  const A = new Instance('A', sandbox, shared)
  const B = new Instance('B', sandbox, shared)
  const C = new Instance('C', sandbox, { ...shared, GK_FAIL_OPEN: 'false' })
  const started = performance.now()
  await A.start()
  await startAll([B, C])
  t.comment(`Postgres, Redis and three instances started in ${Math.round(performance.now() - started)} ms`)

  await call(A.base, 'POST', '/test/users', { username: 'alice', password: PASSWORD })
  // The users the load logs in (one login each per 3 s: no account nears a lockout).
  const USERS = Array.from({ length: 30 }, (_x, i) => `user${i}`)
  for (const username of USERS) await call(A.base, 'POST', '/test/users', { username, password: PASSWORD })
  const token = (await call(A.base, 'POST', '/api/login', { username: 'alice', password: PASSWORD })).json.accessToken as string
  const bearer = { authorization: `Bearer ${token}` }

  t.test('Redis stalled (SIGSTOP) under load: no request waits more than the documented bound', async (t) => {
    // Pairs sent together to one instance: /whoami asks Redis for its rate limit, /unlimited does not.
    // What Redis costs a request is the pair's difference; a busy machine slows both alike.
    interface Pair { node: string, at: number, redis: Answer, control: Answer }
    const pairs: Pair[] = []
    const logins: Array<{ node: string, answer: Answer }> = []
    const nodes = [A, B, C]
    const load = rate(150, async (n) => {
      const node = nodes[n % 3] as Instance
      const at = performance.now()
      const [redis, control] = await Promise.all([call(node.base, 'GET', '/whoami', undefined, bearer), call(node.base, 'GET', '/unlimited', undefined, bearer)])
      pairs.push({ node: node.name, at, redis, control })
    })
    // Logins use the brute-force counters in Redis.
    const loginLoad = rate(5, async (n) => {
      const node = nodes[n % 3] as Instance
      logins.push({ node: node.name, answer: await call(node.base, 'POST', '/api/login', { username: USERS[n % USERS.length], password: PASSWORD }) })
    })
    await sleep(1500)
    const stalledAt = performance.now()
    redis.pause(true)
    await sleep(5000)
    redis.pause(false)
    const resumedAt = performance.now()
    const back = await until('C (fail closed) answers 200 again', async () => (await call(C.base, 'GET', '/whoami', undefined, bearer)).status === 200, 10_000)
    await sleep(500)
    await Promise.all([load.stop(), loginLoad.stop()])

    const during = pairs.filter((s) => s.at >= stalledAt && s.at < resumedAt)
    const before = pairs.filter((s) => s.at < stalledAt)
    const extra = (list: Pair[]): number[] => list.map((p) => p.redis.ms - p.control.ms)
    const ms = during.map((p) => p.redis.ms)
    const fmt = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`
    t.comment(`before the stall: ${before.length} pairs; rate-limited requests ${fmt(before.map((p) => p.redis.ms))}; Redis's share ${fmt(extra(before))}`)
    t.comment(`during the 5 s stall: ${during.length} pairs; rate-limited requests ${fmt(ms)} (${ms.filter((x) => x > 250).length} over 250 ms); control ${fmt(during.map((p) => p.control.ms))}`)
    t.comment(`during the stall, Redis's share of a request (rate-limited minus control): ${fmt(extra(during))}; ${extra(during).filter((x) => x > 100).length} pairs over 100 ms`)
    const slow = during.filter((p) => p.redis.ms - p.control.ms > 100).map((p) => `${Math.round(p.at - stalledAt)}:${p.node}:${Math.round(p.redis.ms)}/${Math.round(p.control.ms)}`)
    t.comment(`pairs over 100 ms (start after SIGSTOP:instance:ms/control ms): ${slow.slice(0, 40).join(' ')}`)
    t.comment(`logins: ${logins.length}, slowest ${Math.max(...logins.map((l) => l.answer.ms)).toFixed(0)} ms; C answered 200 again ${Math.round(back)} ms after SIGCONT`)
    const ok = (node: string, a: Answer): boolean => a.status === 200 || (node === 'C' && a.status === 503 && a.json?.code === 'GK_STORE_UNAVAILABLE')
    const wrong = [...pairs.flatMap((p) => [{ node: p.node, answer: p.redis }, { node: p.node, answer: p.control }]), ...logins].filter((s) => !ok(s.node, s.answer))
    t.same(wrong.map((s) => `${s.node} ${s.answer.status} ${JSON.stringify(s.answer.json)}`), [], 'fail open answers 200, fail closed 200 or 503 GK_STORE_UNAVAILABLE')
    t.ok(during.length > 300, 'the load kept going through the stall')
    t.ok(during.filter((p) => p.node === 'C' && p.redis.status === 503).length > 100, 'C refused rate-limited requests while Redis stalled')
    // The bound docs/deployment.md gives: stallTimeout (200 ms) for the requests waiting when Redis stalls, nothing for the rest.
    t.ok(Math.max(...extra(during)) < 200 + 150, 'Redis never cost a request much more than stallTimeout')
    t.ok(during.filter((p) => p.at > stalledAt + 500 && p.redis.ms - p.control.ms > 100).length <= 3, 'requests arriving once the stall is seen do not wait for Redis')
  })
}
