import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { call, Instance, percentile, rate, sleep, startAll, until, type Answer } from './cluster.js'
import { PostgresServer, RedisServer, requireTools, Sandbox } from './services.js'
import { checkSessions, newJournal, Session } from './sessions.js'

// Postgres stopped (an immediate shutdown: every connection cut) under load, then started again:
// two instances over our own Postgres and Redis.
const PASSWORD = 'correct horse battery staple'

const tools = requireTools(t)
if (tools !== null) {
  const sandbox = new Sandbox(t, 'postgres')
  const postgres = new PostgresServer(sandbox, tools)
  const redis = new RedisServer(sandbox, tools)
  await Promise.all([postgres.start(), redis.start()])
  const env = { GK_PG_URL: postgres.url, GK_REDIS_URL: redis.url, GK_REDIS_PREFIX: 'faults:', GK_JWT_SECRET: randomBytes(32).toString('base64url') }
  const A = new Instance('A', sandbox, env)
  const B = new Instance('B', sandbox, env)
  await startAll([A, B])
  const nodes = [A, B]
  const db = new pg.Pool({ connectionString: postgres.url, max: 2, connectionTimeoutMillis: 1000 })
  db.on('error', () => {})
  t.teardown(() => db.end())

  const USERS = Array.from({ length: 30 }, (_x, i) => `user${i}`)
  for (const username of USERS) await call(A.base, 'POST', '/test/users', { username, password: PASSWORD })

  t.test('Postgres stopped mid-load: only 200 or 503 GK_STORE_UNAVAILABLE, recovery within 5 s of the restart, refresh invariants hold', async (t) => {
    const journal = newJournal()
    const sessions = await Promise.all(USERS.slice(0, 8).map(async (u) => await Session.open(u, PASSWORD, nodes, journal, db)))
    const token = (await call(A.base, 'POST', '/api/login', { username: 'user29', password: PASSWORD })).json.accessToken as string
    const others: Array<{ what: string, at: number, answer: Answer }> = []
    const state = { running: true }
    const rotating = sessions.map(async (s) => { while (state.running && !s.ended) await s.rotate() })
    // Logins spread over 20 accounts (each logs in every 4 s) and reads that need no store.
    const logins = rate(5, async (n) => {
      const node = nodes[n % 2] as Instance
      const at = performance.now()
      others.push({ what: 'login', at, answer: await call(node.base, 'POST', '/api/login', { username: USERS[8 + (n % 20)], password: PASSWORD }) })
    })
    const reads = rate(40, async (n) => {
      const node = nodes[n % 2] as Instance
      const at = performance.now()
      others.push({ what: 'read', at, answer: await call(node.base, 'GET', '/whoami', undefined, { authorization: `Bearer ${token}` }) })
    })
    await sleep(1500)
    const before = journal.rotations.length
    const stoppedAt = performance.now()
    await postgres.stop('immediate')
    await sleep(3000)
    const duringOutage = journal.rotations.length
    const restartedAt = performance.now()
    await postgres.start()
    const upAt = performance.now()
    // Recovery: how long after the restart each instance's store answers again, and logs a user in.
    const recovered = await Promise.all(nodes.map(async (node) => await until(`${node.name}'s store answers`, async () =>
      (await call(node.base, 'GET', '/test/store')).status === 200, 10_000)))
    const loginsBack = await Promise.all(nodes.map(async (node) => await until(`${node.name} logs in`, async () =>
      (await call(node.base, 'POST', '/api/login', { username: 'user28', password: PASSWORD })).status === 200, 10_000)))
    const rotatingAgain = await until('sessions rotate again', () => journal.rotations.length > duringOutage + 20, 10_000)
    await sleep(1000)
    state.running = false
    await Promise.all([...rotating, logins.stop(), reads.stop()])

    const outage = others.filter((o) => o.at >= stoppedAt && o.at < restartedAt)
    t.comment(`${journal.rotations.length} rotations (${before} before the stop, ${duringOutage - before} while stopping); ${journal.unavailable} answers 503 retried; ${others.length} logins and reads`)
    const sinceRestart = recovered.map((ms) => ms + (upAt - restartedAt))
    t.comment(`Postgres down ${Math.round(restartedAt - stoppedAt)} ms, accepting connections ${Math.round(upAt - restartedAt)} ms after its start; the store answers again on A and B ${sinceRestart.map((ms) => Math.round(ms)).join(' and ')} ms after the restart, a login succeeds ${loginsBack.map((ms) => Math.round(ms)).join(' and ')} ms after that, sessions rotate again after ${Math.round(rotatingAgain)} ms`)
    t.comment(`during the outage: logins ${outage.filter((o) => o.what === 'login').map((o) => o.answer.status).join(',')}; slowest answer ${percentile(outage.map((o) => o.answer.ms), 100).toFixed(0)} ms`)
    const wrong = others.filter((o) => !(o.answer.status === 200 || (o.answer.status === 503 && o.answer.json?.code === 'GK_STORE_UNAVAILABLE')))
    t.same(wrong.map((o) => `${o.what} ${o.answer.status} ${JSON.stringify(o.answer.json)}`), [], 'logins and reads: 200 or 503 GK_STORE_UNAVAILABLE only')
    t.same(journal.unexpected, [], 'refreshes: 200 or 503 GK_STORE_UNAVAILABLE only, and every retry after a 503 accepted')
    t.ok(journal.unavailable > 0 && outage.some((o) => o.answer.status === 503), 'the outage was seen')
    t.ok(outage.filter((o) => o.what === 'read').every((o) => o.answer.status === 200), 'access tokens work without the store')
    t.ok(Math.max(...sinceRestart) < 5000, 'every instance recovered within 5 s of the restart')
    await checkSessions(t, db, journal, sessions, A)
  })

  t.test('the right password logs in at once after an outage it was retried through', async (t) => {
    // A client that keeps retrying its login while the store is down, every attempt a 503 …
    await postgres.stop('immediate')
    const during: Answer[] = []
    const stopAt = performance.now() + 5000
    while (performance.now() < stopAt) {
      during.push(await call(A.base, 'POST', '/api/login', { username: 'user0', password: PASSWORD }))
      await sleep(250)
    }
    await postgres.start()
    // … is let in by its first attempt once the store answers again.
    const after = await call(A.base, 'POST', '/api/login', { username: 'user0', password: PASSWORD })
    t.comment(`${during.length} logins during a 5 s outage: ${[...new Set(during.map((a) => `${a.status} ${a.json?.code ?? ''}`))].join(', ')}; the first after it: ${after.status} ${after.json?.code ?? ''}`)
    t.same([...new Set(during.map((a) => a.json?.code))], ['GK_STORE_UNAVAILABLE'], 'every attempt during the outage: 503 GK_STORE_UNAVAILABLE (a refused attempt is no failed attempt)')
    t.equal(after.status, 200, 'the first login once Postgres accepts connections again succeeds')
  })
}
