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
    t.ok(Math.max(...extra(during)) < 200 + 250, 'Redis never cost a request much more than stallTimeout (200 ms; the margin is for a busy machine, the command timeout is 500 ms)')
    t.ok(during.filter((p) => p.at > stalledAt + 500 && p.redis.ms - p.control.ms > 100).length <= 3, 'requests arriving once the stall is seen do not wait for Redis')
  })

  t.test('Redis killed under load: fail open skips limits and counts logins per instance, fail closed answers 503, all recover by themselves', async (t) => {
    await call(A.base, 'POST', '/test/users', { username: 'mallory', password: PASSWORD })
    const pairs: Array<{ node: string, at: number, redis: Answer, control: Answer }> = []
    const nodes = [A, B, C]
    const load = rate(60, async (n) => {
      const node = nodes[n % 3] as Instance
      const at = performance.now()
      const [redisAnswer, control] = await Promise.all([call(node.base, 'GET', '/whoami', undefined, bearer), call(node.base, 'GET', '/unlimited', undefined, bearer)])
      pairs.push({ node: node.name, at, redis: redisAnswer, control })
    })
    await sleep(500)
    const killedAt = performance.now()
    await redis.kill()
    await sleep(300)

    const limited = []
    for (let i = 0; i < 5; i++) limited.push((await call(A.base, 'GET', '/limited', undefined, bearer)).status)
    t.same(limited, [200, 200, 200, 200, 200], 'fail open: a route limited to 3 a minute is not limited')
    const failures = []
    for (let i = 0; i < 5; i++) failures.push((await call(A.base, 'POST', '/api/login', { username: 'mallory', password: 'wrong horse battery staple!' })).status)
    t.same(failures, [401, 401, 401, 401, 401])
    const lockedOnA = await call(A.base, 'POST', '/api/login', { username: 'mallory', password: PASSWORD })
    t.equal(lockedOnA.status, 429, 'fail open: the lockout still applies on the instance that counted the failures')
    t.equal(lockedOnA.json.code, 'GK_ACCOUNT_LOCKED')
    t.equal((await call(B.base, 'POST', '/api/login', { username: 'mallory', password: PASSWORD })).status, 200, 'fail open: another instance has not seen them (counted per instance)')
    const closed = await call(C.base, 'GET', '/whoami', undefined, bearer)
    t.equal(closed.status, 503, 'fail closed: a rate-limited route answers 503')
    t.equal(closed.json.code, 'GK_STORE_UNAVAILABLE')
    t.equal((await call(C.base, 'GET', '/unlimited', undefined, bearer)).status, 200, 'fail closed: a route without a rate limit is unaffected')
    const login = await call(C.base, 'POST', '/api/login', { username: 'alice', password: PASSWORD })
    t.equal(login.status, 503, 'fail closed: logins answer 503')
    t.equal(login.json.code, 'GK_STORE_UNAVAILABLE')
    await sleep(Math.max(0, 3000 - (performance.now() - killedAt)))

    const restartedAt = performance.now()
    await redis.start()
    const up = performance.now()
    const back = await until('C answers 200 again', async () => (await call(C.base, 'GET', '/whoami', undefined, bearer)).status === 200, 10_000)
    const loginBack = await until('C logs in again', async () => (await call(C.base, 'POST', '/api/login', { username: 'alice', password: PASSWORD })).status === 200, 10_000)
    await sleep(500)
    await load.stop()
    const shared = []
    for (const node of [A, B, C, A]) shared.push((await call(node.base, 'GET', '/limited', undefined, bearer)).status)
    t.same(shared, [200, 200, 200, 429], 'limits are counted in Redis again, across instances')

    const during = pairs.filter((p) => p.at >= killedAt && p.at < restartedAt)
    const extra = during.map((p) => p.redis.ms - p.control.ms)
    t.comment(`Redis down for ${Math.round(restartedAt - killedAt)} ms: ${during.length} pairs; Redis's share of a request p99 ${percentile(extra, 99).toFixed(0)} ms, max ${Math.max(...extra).toFixed(0)} ms`)
    t.comment(`after the restart (Redis answering ${Math.round(up - restartedAt)} ms after it was started): fail closed C answered 200 ${Math.round(back)} ms later, logged in after ${Math.round(back + loginBack)} ms`)
    const ok = (node: string, a: Answer): boolean => a.status === 200 || (node === 'C' && a.status === 503 && a.json?.code === 'GK_STORE_UNAVAILABLE')
    const wrong = pairs.flatMap((p) => [{ node: p.node, answer: p.redis }, { node: p.node, answer: p.control }]).filter((s) => !ok(s.node, s.answer))
    t.same(wrong.map((s) => `${s.node} ${s.answer.status} ${JSON.stringify(s.answer.json)}`), [], 'fail open answers 200, fail closed 200 or 503 GK_STORE_UNAVAILABLE')
    t.ok(Math.max(...extra) < 400, 'no request waited for the dead Redis (the command timeout is 500 ms)')
    t.ok(back < 5000, 'recovered within 5 s of the restart')
  })
}
