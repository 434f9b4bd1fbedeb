import { configError } from './errors.js'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

// Every spelling of a unit that is accepted, short and long (the long ones are
// those @fastify/rate-limit users write: '1 minute', '30 secs'). Months and
// years are refused: their length varies.
const UNITS: ReadonlyArray<readonly [number, readonly string[]]> = [
  [1, ['ms', 'msec', 'msecs', 'millisecond', 'milliseconds']],
  [SECOND, ['s', 'sec', 'secs', 'second', 'seconds']],
  [MINUTE, ['m', 'min', 'mins', 'minute', 'minutes']],
  [HOUR, ['h', 'hr', 'hrs', 'hour', 'hours']],
  [DAY, ['d', 'day', 'days']],
  [7 * DAY, ['w', 'wk', 'wks', 'week', 'weeks']]
]
const UNIT_SIZE = new Map(UNITS.flatMap(([size, names]) => names.map((n) => [n, size] as const)))
const DURATION = /^(\d{1,10}) ?([A-Za-z]+)$/
/** The accepted duration spellings, for messages. */
export const DURATION_FORMS = "a whole number and a unit: '500ms', '30s', '15m', '12h', '30d', '2w' (or spelled out: '1 minute', '30 seconds', '2 hours', '7 days'), or a number of milliseconds"

/**
 * A duration: milliseconds as a number, or a string such as `'15m'`, `'30d'`,
 * `'500ms'`, `'1 minute'`, `'2 hours'`. Units: ms, s, m, h, d, w (also spelled
 * `sec`/`second(s)`, `min`/`minute(s)`, `hr`/`hour(s)`, `day(s)`, `week(s)`).
 */
export type Duration = number | string

/**
 * Parses a duration option into milliseconds. `name` is used in the GK_CONFIG
 * message so the user knows which option to change.
 */
export function toMs (value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) configError(`${name} must be a non-negative integer of milliseconds or a string like '15m'`)
    return value
  }
  if (typeof value !== 'string') configError(`${name} must be a duration: ${DURATION_FORMS}`)
  const text = value.trim()
  if (/^\d+$/.test(text)) configError(`${name} must say its unit: '${text}' is ambiguous (did you mean '${text}s' or '${text}ms'?); accepted: ${DURATION_FORMS}`)
  const m = DURATION.exec(text)
  // 'M' is a month in other libraries: short units are read in lower case only, words in any case.
  const unit = m === null ? '' : (m[2]).length <= 3 ? m[2] : (m[2]).toLowerCase()
  const size = UNIT_SIZE.get(unit)
  if (m === null || size === undefined) configError(`${name} must be a duration such as '15m' (got '${value}'): ${DURATION_FORMS}`)
  return Number(m[1]) * size
}

/** Parses an optional duration with a default and inclusive bounds. */
export function boundedMs (value: unknown, name: string, dflt: Duration, min: number, max: number): number {
  const ms = toMs(value ?? dflt, name)
  if (ms < min || ms > max) {
    // A bare number is milliseconds: 900 meant as seconds would be 0.9s. Say what it would have been.
    const asSeconds = typeof value === 'number' ? value * SECOND : Number.NaN
    const hint = asSeconds >= min && asSeconds <= max ? `; a number is milliseconds: did you mean '${fmt(asSeconds)}'?` : ''
    configError(`${name} must be between ${fmt(min)} and ${fmt(max)} (got ${typeof value === 'number' ? `${value} ms` : fmt(ms)})${hint}`)
  }
  return ms
}

function fmt (ms: number): string {
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
