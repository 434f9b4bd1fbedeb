import pg from 'pg'
import t from 'tap'
import { postgresStore } from '../../lib/stores/postgres.js'
import { POSTGRES_URL, requirePostgres, uniqueSchema } from '../stores/postgres-env.js'
import { auditSweep } from './helpers.js'
import { checkInvariants, checkTokens, reopenedApp, stormAndKill, type Journal } from './crash.js'

// Crash safety of the Postgres store: a process rotating refresh tokens is SIGKILLed mid-storm, twice; its
// open transactions die with its connections. After each restart nothing is lost, half-done or accepted twice.
// Skipped with a message when Postgres is unreachable locally; a failure when CI=true.
if (await requirePostgres(t)) {
  const schema = uniqueSchema('crash')
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 })
  admin.on('error', () => {})
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
  })

  for (const round of [1, 2]) {
    t.test(`Postgres, round ${round}: SIGKILL mid-storm, then restart`, async (t) => {
      const journal: Journal = { families: new Map(), lines: 0 }
      await stormAndKill(t, ['postgres', POSTGRES_URL, schema], 300 * round, journal)
      // The killed process's backends end when Postgres notices the closed sockets; their transactions roll back.
      await checkInvariants(t, async (sql) => (await admin.query(sql)).rows, `"${schema}".gk_refresh_tokens`, `"${schema}".gk_refresh_families`)
      const store = postgresStore({ connectionString: POSTGRES_URL, schema })
      const app = await reopenedApp(store)
      t.pass('the store opens cleanly (migrations current)')
      t.teardown(() => app.close())
      await checkTokens(t, app, journal)
    })
  }

  auditSweep(t)
}
