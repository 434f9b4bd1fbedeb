import { toMs, type Duration } from '../core/duration.js'
import { isInteger, isRecord } from '../core/json.js'
import { errors } from '../core/errors.js'
import { isWellFormed } from '../core/unicode.js'
import { isStorableName } from '../stores/types.js'

/** Most scopes a key may carry. */
export const MAX_SCOPES = 64
/** Longest scope. */
export const MAX_SCOPE_LENGTH = 128
/** Longest key name. */
export const MAX_NAME_LENGTH = 100
/** Longest lifetime of a key: ten years. */
export const MAX_EXPIRES_IN = 3650 * 86_400_000
/** Longest rotation overlap: thirty days. */
export const MAX_OVERLAP = 30 * 86_400_000

function bad (what: string): never {
  throw new errors.GK_INVALID_REQUEST(what)
}

/**
 * Whether `scope` is `segment(:segment)*`, each segment made of letters,
 * digits, `_`, `-`, `.` or `*` — the permission syntax. A character loop, no
 * regular expression, so its cost is linear in the (bounded) length.
 */
export function isValidScope (scope: unknown): scope is string {
  if (typeof scope !== 'string' || scope.length === 0 || scope.length > MAX_SCOPE_LENGTH) return false
  let segment = 0
  for (let i = 0; i < scope.length; i++) {
    const c = scope.charCodeAt(i)
    if (c === 0x3a) {
      if (segment === 0) return false
      segment = 0
      continue
    }
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a
    if (!ok) return false
    segment++
  }
  return segment > 0
}

/** A key's owner id, checked. */
export function parseOwnerId (value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256 || !isStorableName(value)) bad('ownerId must be a non-empty string')
  return value
}

/** A key's (or a client's) name: 1–100 characters of well-formed Unicode, no control characters; trimmed. */
export function parseName (value: unknown): string {
  if (typeof value !== 'string') bad('name must be a string')
  // A lone surrogate has no UTF-8 form: each store would keep a different name.
  if (!isWellFormed(value)) bad('name must be well-formed Unicode')
  const name = value.trim()
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) bad(`name must be 1-${MAX_NAME_LENGTH} characters`)
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) bad('name must not contain control characters')
  }
  return name
}

/** A key's scopes: at most 64 distinct, each in the permission syntax. */
export function parseScopes (value: unknown): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > MAX_SCOPES) bad(`scopes must be an array of at most ${MAX_SCOPES} strings`)
  const scopes = value.filter(isValidScope)
  if (scopes.length !== value.length) bad("each scope must look like 'resource:action' (letters, digits, _ - . *)")
  return [...new Set(scopes)]
}

/** A duration given at run time, in ms between `min` and `max`; `undefined`/`null` gives `null`. */
export function parseDuration (value: unknown, name: string, min: number, max: number): number | null {
  if (value === undefined || value === null) return null
  let ms: number
  try {
    ms = toMs(value, name)
  } catch {
    bad(`${name} must be a duration such as '90d' or a number of milliseconds`)
  }
  if (ms < min || ms > max) bad(`${name} is out of range`)
  return ms
}

/** A duration given at run time, kept as given to be parsed later; `undefined`/`null` gives `undefined`, a value of another type is refused now. */
export function durationInput (value: unknown, name: string): Duration | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string' || typeof value === 'number') return value
  return bad(`${name} must be a duration such as '90d' or a number of milliseconds`)
}

/** A per-key rate limit `{ max, timeWindow }`; `timeWindow` is a duration, stored in ms. */
export function parseRateLimit (value: unknown): { max: number, timeWindow: number } | null {
  if (value === undefined || value === null) return null
  if (!isRecord(value)) return bad('rateLimit must be { max, timeWindow }')
  const { max, timeWindow, ...rest } = value
  if (Object.keys(rest).length > 0) bad('rateLimit takes only max and timeWindow')
  if (!isInteger(max) || max < 1 || max > 1_000_000) bad('rateLimit.max must be an integer from 1 to 1000000')
  const window = parseDuration(timeWindow, 'rateLimit.timeWindow', 1000, 86_400_000)
  if (window === null) bad('rateLimit.timeWindow is required')
  return { max, timeWindow: window }
}
