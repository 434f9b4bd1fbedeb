import { errors } from '../../core/errors.js'
import { fieldOf } from '../../core/json.js'

function codeOf (err: unknown): string {
  const code = fieldOf(err, 'code')
  return typeof code === 'string' ? code : ''
}

/** True for a UNIQUE or PRIMARY KEY violation. */
export function isUniqueViolation (err: unknown): boolean {
  const code = codeOf(err)
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|NOMEM|PROTOCOL)/

/**
 * Maps a driver error to ours: a unique violation becomes `GK_CONFLICT`
 * (`conflict` says what is taken), a file that cannot be read or written, a
 * lock held past `busyTimeout` or a closed store become `GK_STORE_UNAVAILABLE`
 * with the driver error as `cause`. Anything else (a bug) is returned as is.
 */
export function mapSqliteError (err: unknown, conflict: string): Error {
  if (isUniqueViolation(err)) return new errors.GK_CONFLICT(conflict)
  const code = codeOf(err)
  if (UNAVAILABLE.test(code) || (err instanceof TypeError && /database connection is not open/.test(err.message))) {
    return new errors.GK_STORE_UNAVAILABLE({ cause: err })
  }
  return err instanceof Error ? err : new Error(String(err))
}

/** What to tell someone whose database file could not be opened; names the file, never its contents. */
export function openFailure (filename: string, err: unknown): Error {
  const code = codeOf(err)
  const detail = err instanceof Error ? err.message : String(err)
  let hint: string
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') hint = 'the file is not a valid SQLite database (corrupt, or another kind of file); restore it from a backup or choose another filename'
  else if (/directory does not exist/.test(detail)) hint = 'its directory does not exist; create it first'
  else if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR') || /open database/.test(detail)) hint = 'the path cannot be opened for writing; check that it is a file in a writable directory'
  else hint = detail
  return new errors.GK_CONFIG(`sqliteStore cannot open '${filename}': ${hint}`, { cause: err })
}
