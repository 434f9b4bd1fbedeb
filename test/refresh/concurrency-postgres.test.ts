import t from 'tap'
import pg from 'pg'
import { postgresStore } from '../../lib/stores/postgres.js'
import { POSTGRES_URL, requirePostgres, uniqueSchema } from '../stores/postgres-env.js'
import { refreshConcurrency } from './concurrency.js'

// Skips with a message when Postgres is unreachable locally; fails under CI=true.
if (await requirePostgres(t)) {
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 })
  admin.on('error', () => {})
  const schemas: string[] = []
  t.teardown(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await admin.end()
  })
  const open = (schema: string) => postgresStore({ connectionString: POSTGRES_URL, schema, max: 20 })
  const bySchema = new WeakMap<object, string>()

  refreshConcurrency('postgres store', async () => {
    const schema = uniqueSchema('refresh')
    schemas.push(schema)
    const store = open(schema)
    bySchema.set(store, schema)
    return store
  }, {
    // The second instance gets its own pool: the race is between connections, not inside one.
    peer: async (store) => open(bySchema.get(store) as string)
  })
}
