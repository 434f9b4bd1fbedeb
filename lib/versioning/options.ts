import { configError } from '../core/errors.js'
import type { DefaultAuth, StrategyName } from '../core/types.js'

/** A version name: `v` followed by digits (`v1`, `v2`, `v10`). */
export const VERSION_NAME = /^v\d+$/

/** A date option: an ISO 8601 string (`'2026-06-01'`, `'2026-06-01T12:00:00Z'`) or a `Date`. */
export type DateInput = string | Date

/** What a version accepts, as given to the plugin. */
export interface VersionOptions {
  /** When the version is (or will be) deprecated; sent as `Deprecation` (RFC 9745). */
  deprecated?: DateInput
  /** When the version stops answering (410 `GK_VERSION_GONE` from then on); sent as `Sunset` (RFC 8594). */
  sunset?: DateInput
  /** The version that replaces this one; sent as `Link: <…>; rel="successor-version"`. */
  successor?: string
  /** A page explaining the deprecation; sent as `Link: <…>; rel="deprecation"` (RFC 9745 §3). Needs `deprecated`. */
  deprecationLink?: string
  /**
   * The default protection of this version's routes that have no `config.auth`:
   * a strategy name, a list of names (any may succeed), `'authenticated'` or `'public'`.
   * Default: the core's `defaultAuth`.
   */
  auth?: StrategyName | StrategyName[] | 'authenticated' | 'public'
}

/** Options of the `versioning` plugin. */
export interface VersioningOptions {
  /** The path before the version segment (default `'/api'`; `''` puts versions at the root: `/v1/…`). */
  prefix?: string
  /** The versions this API serves, by name (`v1`, `v2`, …). At least one. */
  versions: Record<string, VersionOptions>
}

/** One version, normalised: dates as whole-second epoch milliseconds. */
export interface VersionSpec {
  readonly name: string
  readonly deprecatedAt: number | null
  readonly sunsetAt: number | null
  readonly successor: string | null
  readonly deprecationLink: string | null
  /** `undefined`: keep the core's default. */
  readonly auth: DefaultAuth | undefined
}

/** The plugin's options, validated and frozen. */
export interface VersioningConfig {
  /** Normalised: `''` or `/seg(/seg)*`, never a trailing slash. */
  readonly prefix: string
  readonly versions: ReadonlyMap<string, VersionSpec>
}

const TOP_KEYS = new Set(['prefix', 'versions'])
const VERSION_KEYS = new Set(['deprecated', 'sunset', 'successor', 'deprecationLink', 'auth'])
const PREFIX = /^(?:\/[A-Za-z0-9._~-]+)*$/
// Date-only, or date-time with an explicit offset: a date-time without one is
// read in the server's local zone by Date.parse, so the same config would
// sunset at different instants on different machines.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/
// IMF-fixdate (RFC 9110 §5.6.7) has a four-digit year.
const MAX_MS = Date.UTC(10000, 0, 1)

/**
 * Parses a date option into epoch milliseconds truncated to the second (the
 * precision of both the `Deprecation` and the `Sunset` header).
 */
export function parseDate (value: unknown, name: string): number {
  let ms: number
  if (value instanceof Date) {
    ms = value.getTime()
  } else if (typeof value === 'string' && ISO_DATE.test(value.trim())) {
    ms = Date.parse(value.trim())
  } else {
    return configError(`${name} must be an ISO 8601 date ('2026-06-01' or '2026-06-01T00:00:00Z', with Z or an offset when a time is given) or a Date`)
  }
  if (!Number.isFinite(ms)) configError(`${name} is not a valid date`)
  if (ms < 0 || ms >= MAX_MS) configError(`${name} must lie between 1970 and 9999`)
  return Math.floor(ms / 1000) * 1000
}

function parseAuth (value: unknown, name: string): DefaultAuth {
  if (value === 'authenticated' || value === 'public') return value
  if (typeof value === 'string' && value.length > 0) return [value]
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0)) return [...new Set(value as string[])]
  return configError(`${name} must be a strategy name, a non-empty array of strategy names, 'authenticated' or 'public'`)
}

function parseLink (value: unknown, name: string): string {
  let url: URL | null = null
  try {
    if (typeof value === 'string') url = new URL(value)
  } catch {}
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return configError(`${name} must be an absolute http(s) URL such as 'https://example.com/docs/v1-deprecation'`)
  }
  // The WHATWG serialisation percent-encodes '<', '>' and '"', so the href
  // cannot break out of the RFC 8288 `<URI-Reference>` brackets.
  return url.href
}

/** Normalises the `prefix` option: `'/api/'` → `'/api'`, `'/'` → `''`. */
export function normalizePrefix (value: unknown): string {
  if (value === undefined) return '/api'
  if (typeof value !== 'string') return configError("prefix must be a path such as '/api' (or '' for versions at the root)")
  const p = value.endsWith('/') ? value.slice(0, -1) : value
  if (!PREFIX.test(p)) configError(`prefix must be a plain path such as '/api': segments of letters, digits, '.', '_', '~' or '-', without parameters or wildcards (got '${value}')`)
  return p
}

function parseVersion (name: string, raw: unknown): Omit<VersionSpec, 'successor'> & { successor: string | null } {
  const where = `versions.${name}`
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) configError(`${where} must be an object ({} for a current version)`)
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!VERSION_KEYS.has(k)) configError(`unknown option ${where}.${k} (allowed: ${[...VERSION_KEYS].join(', ')})`)
  }
  const deprecatedAt = o.deprecated === undefined ? null : parseDate(o.deprecated, `${where}.deprecated`)
  const sunsetAt = o.sunset === undefined ? null : parseDate(o.sunset, `${where}.sunset`)
  if (deprecatedAt !== null && sunsetAt !== null && sunsetAt <= deprecatedAt) {
    configError(`${where}.sunset must be after ${where}.deprecated (clients need time to move)`)
  }
  if (o.successor !== undefined && (typeof o.successor !== 'string' || o.successor.length === 0)) configError(`${where}.successor must be the name of another version, such as 'v2'`)
  if (o.deprecationLink !== undefined && deprecatedAt === null) configError(`${where}.deprecationLink needs ${where}.deprecated`)
  return {
    name,
    deprecatedAt,
    sunsetAt,
    successor: (o.successor as string | undefined) ?? null,
    deprecationLink: o.deprecationLink === undefined ? null : parseLink(o.deprecationLink, `${where}.deprecationLink`),
    auth: o.auth === undefined ? undefined : parseAuth(o.auth, `${where}.auth`)
  }
}

/** Validates the plugin's options; throws `GK_CONFIG` saying what to change. */
export function parseOptions (opts: unknown): VersioningConfig {
  if (opts === null || typeof opts !== 'object') return configError("versioning options must be an object such as { prefix: '/api', versions: { v1: {} } }")
  const o = opts as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!TOP_KEYS.has(k)) configError(`unknown versioning option '${k}' (allowed: ${[...TOP_KEYS].join(', ')})`)
  }
  const prefix = normalizePrefix(o.prefix)
  const raw = o.versions
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Object.keys(raw).length === 0) {
    configError('versions must name at least one version, such as { v1: {}, v2: {} }')
  }
  const versions = new Map<string, VersionSpec>()
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!VERSION_NAME.test(name)) configError(`version '${name}' is not a valid name: use 'v' followed by digits, such as 'v1'`)
    versions.set(name, Object.freeze(parseVersion(name, value)))
  }
  for (const v of versions.values()) {
    if (v.successor === null) continue
    if (v.successor === v.name) configError(`versions.${v.name}.successor must name another version`)
    if (!versions.has(v.successor)) configError(`versions.${v.name}.successor '${v.successor}' is not a declared version (declared: ${[...versions.keys()].join(', ')})`)
    const seen = new Set([v.name])
    for (let s: string | null = v.successor; s !== null; s = (versions.get(s) as VersionSpec).successor) {
      if (seen.has(s)) configError(`versions.${v.name}.successor forms a cycle (${[...seen, s].join(' -> ')})`)
      seen.add(s)
    }
  }
  return Object.freeze({ prefix, versions })
}
