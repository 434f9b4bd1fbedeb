import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { sqliteAccountTokens } from './sqlite/account-tokens.js'
import { sqliteMfa } from './sqlite/mfa.js'
import { openSqlite } from './sqlite/open.js'
import { sqliteOAuthRepositories } from './sqlite/oauth.js'
import { sqliteRepositories } from './sqlite/repositories.js'
import type { GatekeeperStore } from './types.js'

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file (created when missing; its directory must exist), or `':memory:'`. */
  filename: string
  /** How long a write waits for a lock held by another process before failing with `GK_STORE_UNAVAILABLE`. Default `'5s'`. */
  busyTimeout?: Duration
  /** `'full'` (default) syncs every commit, so a revoked session stays revoked after a power cut; `'normal'` is faster and may lose the last commits. */
  synchronous?: 'full' | 'normal'
}

const OPTION_KEYS = ['filename', 'busyTimeout', 'synchronous']

/**
 * The embedded store: one SQLite file through better-sqlite3, in WAL mode,
 * schema migrated on open (versions in `gk_migrations`). Several processes may
 * open the same file: `refreshTokens.consume` is exactly-once across them.
 *
 * Opening throws `GK_CONFIG` (naming the file) when the path cannot be opened
 * for writing or the file is not a SQLite database. Later driver failures
 * raise `GK_STORE_UNAVAILABLE`; a taken unique value raises `GK_CONFLICT`.
 *
 * @example
 * await app.register(gatekeeper, { store: sqliteStore({ filename: 'data/auth.db' }) })
 */
export function sqliteStore (options: SqliteStoreOptions): GatekeeperStore {
  if (options === null || typeof options !== 'object') configError("sqliteStore needs options: sqliteStore({ filename: 'auth.db' })")
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) configError(`sqliteStore: unknown option '${k}' (allowed: ${OPTION_KEYS.join(', ')})`)
  }
  if (typeof options.filename !== 'string' || options.filename.trim() === '') {
    configError("sqliteStore: filename must be a path such as 'data/auth.db' or ':memory:'")
  }
  const synchronous = options.synchronous ?? 'full'
  if (synchronous !== 'full' && synchronous !== 'normal') configError("sqliteStore: synchronous must be 'full' or 'normal'")
  const busyTimeout = boundedMs(options.busyTimeout, 'sqliteStore busyTimeout', '5s', 0, 600_000)

  const { db } = openSqlite({ filename: options.filename, busyTimeout, synchronous: synchronous === 'full' ? 'FULL' : 'NORMAL' })
  return {
    ...sqliteRepositories(db),
    ...sqliteOAuthRepositories(db),
    ...sqliteAccountTokens(db),
    ...sqliteMfa(db),
    async close () {
      if (db.open) db.close()
    }
  }
}
