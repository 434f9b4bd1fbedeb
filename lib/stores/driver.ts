import { createRequire } from 'node:module'
import { fieldOf } from '../core/json.js'
import { configError } from '../core/errors.js'

const require = createRequire(import.meta.url)

/** The optional peer dependencies a store loads, with the major version it is tested with. */
const DRIVERS = { 'better-sqlite3': { version: '12', store: 'sqliteStore' }, pg: { version: '8', store: 'postgresStore' } } as const

/**
 * Loads a store's database driver when the store is made, so that importing
 * another store never needs it. A driver that is not installed raises
 * `GK_CONFIG` saying what to install (as the oauth2 plugin does for
 * openid-client); any other loading failure (a native build for another Node
 * version) is thrown as it is.
 */
export function loadDriver<T> (name: keyof typeof DRIVERS): T {
  try {
    return require(name) as T
  } catch (err) {
    const code = fieldOf(err, 'code')
    const message = fieldOf(err, 'message')
    if (code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`)) {
      const { store, version } = DRIVERS[name]
      configError(`${store} needs the ${name} package, which is not installed: npm install ${name}@${version}`)
    }
    throw err
  }
}

/**
 * The part of a better-sqlite3 `Database` the migrations use. Structural, so
 * that the store's published types never require `@types/better-sqlite3`.
 */
export interface SqliteDatabase {
  exec (sql: string): unknown
  prepare (sql: string): { get (...params: unknown[]): unknown, run (...params: unknown[]): unknown }
  transaction<T> (fn: () => T): { immediate (): T }
}

/** What a `pg` query answers, as far as the store reads it. */
export interface PgResult {
  rows: Array<Record<string, unknown>>
  rowCount: number | null
}

/** The part of a `pg` client the migrations use; structural, so the store's types never require `@types/pg`. */
export interface PgClient {
  query (query: string | { text: string, values?: unknown[] }, values?: unknown[]): Promise<PgResult>
  release (err?: Error | boolean): void
}

/** The part of a `pg.Pool` the Postgres store uses. Any `pg.Pool` fits; the type is structural so that `@types/pg` stays optional. */
export interface PgPool {
  query (text: string, values?: unknown[]): Promise<PgResult>
  connect (): Promise<PgClient>
  on (event: 'error', listener: (err: Error) => void): unknown
  removeListener (event: 'error', listener: (err: Error) => void): unknown
  end (): Promise<void>
}
