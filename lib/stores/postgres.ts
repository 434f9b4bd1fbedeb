import type pg from 'pg'
import type { ConnectionOptions } from 'node:tls'
import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { loadDriver, type PgPool } from './driver.js'
import { postgresAccountTokens } from './postgres/account-tokens.js'
import { mapPgError } from './postgres/errors.js'
import { postgresMfa } from './postgres/mfa.js'
import { checkPostgresSchema, migratePostgres } from './postgres/migrations.js'
import { postgresOAuthRepositories } from './postgres/oauth.js'
import { CONFLICTS, postgresRepositories, type Query } from './postgres/repositories.js'
import type { GatekeeperStore } from './types.js'

/** Options of {@link postgresStore}: give either `pool` or `connectionString`. */
export interface PostgresStoreOptions {
  /** Your own `pg.Pool`. The store never ends it; its timeouts and size are yours to set. */
  pool?: PgPool
  /** `postgres://user:password@host:5432/db`; the store then creates and ends its own pool. */
  connectionString?: string
  /** The Postgres schema holding the store's tables, created by the migrations. Default `'gatekeeper'`. */
  schema?: string
  /** Server-side limit for one statement (`statement_timeout`). Default `'5s'`. Own pool only. */
  statementTimeout?: Duration
  /** How long to wait for a new connection before failing with `GK_STORE_UNAVAILABLE`. Default `'5s'`. Own pool only. */
  connectionTimeout?: Duration
  /** Pool size. Default `10`. Own pool only. */
  max?: number
  /** TLS settings passed to `pg` (`true`, or `{ ca, rejectUnauthorized }`). Own pool only. */
  ssl?: boolean | ConnectionOptions
  /** `application_name` shown in `pg_stat_activity`. Default `'fastify-gatekeeper'`. Own pool only. */
  applicationName?: string
  /**
   * Run pending migrations in `init()` (default `true`). With `false`, `init()`
   * only checks the schema is current: run `npx fastify-gatekeeper migrate` at deploy time instead.
   */
  migrate?: boolean
  /** Time limit for the migration transaction. Default `'60s'`. */
  migrationTimeout?: Duration
}

const OWN_POOL_OPTIONS = ['statementTimeout', 'connectionTimeout', 'max', 'ssl', 'applicationName'] as const
const OPTION_KEYS = new Set(['pool', 'connectionString', 'schema', 'migrate', 'migrationTimeout', ...OWN_POOL_OPTIONS])
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * The production store: Postgres through `pg`, in its own schema. `init()`
 * (awaited by the core plugin) applies versioned migrations under an
 * advisory lock, so several instances may start at once.
 * `refreshTokens.consume` is one conditional `UPDATE … RETURNING` statement:
 * exactly-once across every process sharing the database.
 *
 * Errors: a taken unique value raises `GK_CONFLICT`; a refused, terminated or
 * timed-out connection and a statement over `statementTimeout` raise
 * `GK_STORE_UNAVAILABLE` (503). Broken connections are discarded, so the store
 * recovers by itself when Postgres is back.
 *
 * @example
 * await app.register(gatekeeper, { store: postgresStore({ connectionString: process.env.DATABASE_URL }) })
 */
export function postgresStore (options: PostgresStoreOptions): GatekeeperStore {
  if (options === null || typeof options !== 'object') configError('postgresStore needs options: postgresStore({ connectionString }) or postgresStore({ pool })')
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.has(k)) configError(`postgresStore: unknown option '${k}' (allowed: ${[...OPTION_KEYS].join(', ')})`)
  }
  const hasPool = options.pool !== undefined
  const hasUrl = options.connectionString !== undefined
  if (hasPool === hasUrl) configError('postgresStore: give exactly one of pool (a pg.Pool) or connectionString')
  if (hasPool && (typeof options.pool !== 'object' || options.pool === null || typeof options.pool.query !== 'function')) configError('postgresStore: pool must be a pg.Pool')
  if (hasUrl && (typeof options.connectionString !== 'string' || options.connectionString.trim() === '')) configError('postgresStore: connectionString must be a string such as postgres://user@host:5432/db')
  if (hasPool) {
    for (const k of OWN_POOL_OPTIONS) if (options[k] !== undefined) configError(`postgresStore: ${k} applies to the pool the store creates; with your own pool, set it on the pg.Pool`)
  }
  const schemaName = options.schema ?? 'gatekeeper'
  if (typeof schemaName !== 'string' || !IDENTIFIER.test(schemaName)) configError('postgresStore: schema must be a plain identifier (letters, digits, underscores; at most 63 characters)')
  if (options.migrate !== undefined && typeof options.migrate !== 'boolean') configError('postgresStore: migrate must be a boolean')
  if (options.max !== undefined && (!Number.isInteger(options.max) || options.max < 1 || options.max > 1000)) configError('postgresStore: max must be an integer between 1 and 1000')
  if (options.applicationName !== undefined && typeof options.applicationName !== 'string') configError('postgresStore: applicationName must be a string')
  const statementTimeout = boundedMs(options.statementTimeout, 'postgresStore statementTimeout', '5s', 100, 600_000)
  const connectionTimeout = boundedMs(options.connectionTimeout, 'postgresStore connectionTimeout', '5s', 100, 600_000)
  const migrationTimeout = boundedMs(options.migrationTimeout, 'postgresStore migrationTimeout', '60s', 1000, 3_600_000)

  const schema = `"${schemaName}"`
  const pool: PgPool = options.pool ?? new (loadDriver<typeof pg>('pg').Pool)({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    ssl: options.ssl,
    application_name: options.applicationName ?? 'fastify-gatekeeper',
    connectionTimeoutMillis: connectionTimeout,
    statement_timeout: statementTimeout,
    // Client-side backstop for a server that stopped answering (statement_timeout cannot fire then).
    query_timeout: statementTimeout + 1000,
    keepAlive: true
  })
  // An idle connection dropped by the server is already removed from the pool;
  // without a listener, pg would re-throw the 'error' event and crash the process.
  const onIdleError = (): void => {}
  pool.on('error', onIdleError)

  let initialised: Promise<void> | undefined
  let closed = false
  async function init (): Promise<void> {
    initialised ??= (options.migrate === false
      ? checkPostgresSchema(pool, schema)
      : migratePostgres(pool, schema, migrationTimeout).then(() => {})
    ).catch((err: unknown) => {
      initialised = undefined // a later call retries, e.g. once Postgres is reachable again
      throw err
    })
    await initialised
  }

  const query: Query = async (text, values) => {
    await init()
    try {
      return await pool.query(text, values)
    } catch (err) {
      throw mapPgError(err, 'already exists', CONFLICTS)
    }
  }

  return {
    ...postgresRepositories(query, schema),
    ...postgresOAuthRepositories(query, schema),
    ...postgresAccountTokens(query, schema),
    ...postgresMfa(query, schema),
    init,
    async close () {
      if (closed) return
      closed = true
      if (hasPool) pool.removeListener('error', onIdleError)
      else await pool.end()
    }
  }
}
