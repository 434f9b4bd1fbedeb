import pg from 'pg'
import t from 'tap'
import { postgresStore } from '../../lib/stores/postgres.js'
import { POSTGRES_URL, TcpProxy, requirePostgres, uniqueSchema } from '../stores/postgres-env.js'
import { PASSWORD, WRONG, login } from './helpers.js'
import { lockoutApp } from './lockout-scenarios.js'

// A real Postgres cut off behind a proxy, and a real exhausted pool: neither may turn into a lockout.
if (await requirePostgres(t)) {
  const schema = uniqueSchema('lockout')
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 })
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
  })
  const target = new URL(POSTGRES_URL)
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  await proxy.start()
  t.teardown(() => proxy.stop())

  t.test('Postgres cut off during logins: 503s, never a lockout; the right password works at once when it is back', async (t) => {
    const store = postgresStore({ connectionString: proxy.url(POSTGRES_URL), schema, connectionTimeout: '1s', statementTimeout: '2s' })
    t.teardown(() => store.close())
    await store.init?.()
    const { app, events } = await lockoutApp(t, store)
    t.equal((await login(app, 'alice', WRONG)).statusCode, 401, 'one failure on the credential before the outage')
    await proxy.stop()
    for (let i = 0; i < 8; i++) {
      const res = await login(app, 'alice', PASSWORD)
      t.equal(res.statusCode, 503, `attempt ${i + 1} during the outage`)
      t.equal(res.json().code, 'GK_STORE_UNAVAILABLE')
    }
    await proxy.start()
    t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'let in at once after recovery')
    t.same(events.filter((e) => e.type === 'login.locked'), [])
  })

  t.test('an exhausted pool (503 after connectionTimeout) is no failed attempt either', async (t) => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, connectionTimeoutMillis: 200 })
    t.teardown(() => pool.end())
    const store = postgresStore({ pool, schema })
    await store.init?.()
    const { app } = await lockoutApp(t, store)
    // Hold the pool's only connection: a store call waits for it past connectionTimeoutMillis.
    const held = await pool.connect()
    try {
      for (let i = 0; i < 7; i++) {
        const res = await login(app, 'alice', PASSWORD)
        t.equal(res.statusCode, 503, `attempt ${i + 1} with the pool exhausted`)
      }
    } finally {
      held.release()
    }
    t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'let in as soon as a connection is free')
  })
}
