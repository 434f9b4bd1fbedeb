import type Database from 'better-sqlite3'
import { loadDriver } from '../driver.js'
import { migrateSqlite, type AppliedMigration } from './migrations.js'
import { openFailure } from './errors.js'

/** How {@link openSqlite} opens the file. */
export interface OpenSqliteOptions {
  filename: string
  /** How long a write waits for another connection's lock, in ms. */
  busyTimeout: number
  /** `FULL` syncs every commit to disk; `NORMAL` may lose the last commits on power loss (WAL stays consistent). */
  synchronous: 'FULL' | 'NORMAL'
}

/**
 * Opens (or creates) a gatekeeper database: WAL journal, busy timeout,
 * foreign keys, then pending migrations. A file that cannot be opened or is
 * not a SQLite database raises `GK_CONFIG` naming the file.
 */
export function openSqlite (opts: OpenSqliteOptions): { db: Database.Database, applied: AppliedMigration[] } {
  const Sqlite = loadDriver<typeof Database>('better-sqlite3')
  let db: Database.Database | undefined
  try {
    db = new Sqlite(opts.filename)
    // busy_timeout first: the WAL switch and the migrations may wait for another process.
    db.pragma(`busy_timeout = ${opts.busyTimeout}`)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${opts.synchronous}`)
    db.pragma('foreign_keys = ON')
    const applied = migrateSqlite(db)
    return { db, applied }
  } catch (err) {
    if (db?.open === true) db.close()
    throw openFailure(opts.filename, err)
  }
}
