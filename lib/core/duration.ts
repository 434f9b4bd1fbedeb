import { configError } from './errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const DURATION = /^(\d{1,10})(ms|s|m|h|d|w)$/

/** A duration: milliseconds as a number, or a string such as `'15m'`, `'30d'`, `'500ms'`. */
export type Duration = number | string

/**
 * Parses a duration option into milliseconds. `name` is used in the GK_CONFIG
 * message so the user knows which option to change.
 */
export function toMs (value: Duration, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) configError(`${name} must be a non-negative integer of milliseconds or a string like '15m'`)
    return value
  }
  if (typeof value !== 'string') configError(`${name} must be a duration such as '15m', '7d' or a number of milliseconds`)
  const m = DURATION.exec(value.trim())
  if (m === null) configError(`${name} must be a duration such as '15m', '7d' or a number of milliseconds (got '${value}')`)
  return Number(m[1]) * (UNITS[m[2]] as number)
}

/** Parses an optional duration with a default and inclusive bounds. */
export function boundedMs (value: Duration | undefined, name: string, dflt: Duration, min: number, max: number): number {
  const ms = toMs(value ?? dflt, name)
  if (ms < min || ms > max) configError(`${name} must be between ${fmt(min)} and ${fmt(max)}`)
  return ms
}

function fmt (ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
