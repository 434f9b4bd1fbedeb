import { errors, isGatekeeperError } from '../../core/errors.js'
import { fieldOf, isRecord } from '../../core/json.js'

// SQLSTATE classes and codes that mean "the database cannot serve us right now":
// 08 connection exception, 53 insufficient resources, 57P01-57P03 shutdown or
// not yet accepting connections, 57014 statement_timeout, 55P03 lock_timeout,
// 40001/40P01 serialization failure or deadlock (safe to retry later).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|57014|55P03|40001|40P01)/
// Errors raised by node and by pg itself before a SQLSTATE exists.
const UNAVAILABLE_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED'])
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|Client was closed|connection (is )?closed/i

/** True when `err` says the database is unreachable, overloaded or too slow. */
export function isUnavailable (err: unknown): boolean {
  if (!isRecord(err)) return false
  const { code, message } = err
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE.has(code))) return true
  if (err instanceof AggregateError) return err.errors.some(isUnavailable)
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)
}

/**
 * Maps a `pg` error to ours: a unique violation (23505) becomes `GK_CONFLICT`
 * with `conflict` as detail (or what `byConstraint` says for the violated
 * constraint); an unreachable, terminated or timed-out database becomes
 * `GK_STORE_UNAVAILABLE` with the driver error as `cause`; text Postgres
 * cannot hold (a NUL character) becomes `GK_INVALID_REQUEST`. Our own errors pass
 * through; anything else (a bug) is returned unchanged. Messages never carry
 * the connection string.
 */
export function mapPgError (err: unknown, conflict: string, byConstraint: Record<string, string> = {}): Error {
  if (isGatekeeperError(err)) return err
  const code = fieldOf(err, 'code')
  if (code === '23505') {
    const constraint = fieldOf(err, 'constraint')
    return new errors.GK_CONFLICT((typeof constraint === 'string' ? byConstraint[constraint] : undefined) ?? conflict)
  }
  if (isUnavailable(err)) return new errors.GK_STORE_UNAVAILABLE({ cause: err })
  // 22021 character_not_in_repertoire, 22P05 untranslatable_character: Postgres text cannot hold
  // a NUL character, so a value carrying one (a login name, say) is bad input, never a 500.
  if (code === '22021' || code === '22P05') {
    return new errors.GK_INVALID_REQUEST('text with a character the database cannot store (such as NUL)')
  }
  return err instanceof Error ? err : new Error(String(err))
}
