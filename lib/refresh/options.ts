import { configError } from '../core/errors.js'
import { boundedMs, toMs, type Duration } from '../core/duration.js'
import { deriveSuccessorKey, MIN_SECRET_BYTES } from './token.js'

/** Where the refresh token travels. */
export const TRANSPORTS = ['cookie', 'body', 'both'] as const
/** `'cookie'`: an HttpOnly cookie only; `'body'`: JSON fields only; `'both'`: either. */
export type RefreshTransport = typeof TRANSPORTS[number]

/** The paths of the routes the refresh plugin serves or relies on. */
export interface RefreshRoutes {
  /** `POST`: exchange a refresh token for new tokens (default `/api/token/refresh`). */
  refresh?: string
  /**
   * The jwt plugin's logout route (default `/api/logout`). The refresh plugin
   * does not register it: it revokes the session from inside it, and scopes a
   * copy of the cookie to it so a browser can log out.
   */
  logout?: string
  /** `POST`: revoke every session of the caller (default `/api/logout/all`); `false` to leave it out. */
  logoutAll?: string | false
  /** `GET` lists, `DELETE /:id` revokes the caller's sessions (default `/api/sessions`); `false` to leave it out. */
  sessions?: string | false
}

/** Options of the `refresh` plugin. */
export interface RefreshOptions {
  /** Absolute lifetime of a session (a token family), default `'30d'`, at most `'365d'`. */
  ttl?: Duration
  /** A token unused this long expires (each refresh moves it), default `'7d'`, at most `ttl`. */
  idleTtl?: Duration
  /**
   * How long a just-rotated token may be presented again and get the same
   * successor (lost responses) instead of a theft alarm. Default `'0s'`, at most `'60s'`.
   */
  reuseGrace?: Duration
  /**
   * At least 32 bytes, the same on every instance; required when `reuseGrace`
   * is above zero: successors are derived from it so they can be sent again
   * without being stored.
   */
  secret?: string | Buffer
  /**
   * Default: `'cookie'` when the jwt plugin sends access tokens in a cookie
   * (a browser app), `'body'` otherwise.
   */
  transport?: RefreshTransport
  routes?: RefreshRoutes
  /** How often expired tokens are deleted, default `'1h'`; `false` to only purge on demand. */
  purgeInterval?: Duration | false
}

/** The options after validation. */
export interface ResolvedRefreshOptions {
  readonly ttlMs: number
  readonly idleMs: number
  readonly graceMs: number
  readonly successorKey: Buffer | null
  readonly transport: RefreshTransport
  readonly routes: { readonly refresh: string, readonly logout: string, readonly logoutAll: string | false, readonly sessions: string | false }
  readonly purgeMs: number | null
}

const KEYS = new Set(['ttl', 'idleTtl', 'reuseGrace', 'secret', 'transport', 'routes', 'purgeInterval'])
const ROUTE_KEYS = new Set(['refresh', 'logout', 'logoutAll', 'sessions'])
const MINUTE = 60_000
const DAY = 86_400_000
const PATH = /^\/[A-Za-z0-9\-._~/]*$/

function path (value: unknown, name: string, dflt: string, optional: boolean): string | false {
  if (value === undefined) return dflt
  if (value === false && optional) return false
  if (typeof value !== 'string' || !PATH.test(value) || value.length > 200 || value.includes('//') || (value.length > 1 && value.endsWith('/'))) {
    configError(`routes.${name} must be a path such as '${dflt}' (letters, digits, -._~ and /, no parameters, no trailing slash)${optional ? ' or false' : ''}`)
  }
  return value
}

/** Validates and normalises the options once, at registration. */
export function parseOptions (opts: RefreshOptions, jwtCookie: boolean): ResolvedRefreshOptions {
  if (opts === null || typeof opts !== 'object') configError('refresh options must be an object')
  for (const k of Object.keys(opts)) {
    if (!KEYS.has(k)) configError(`unknown refresh option '${k}' (allowed: ${[...KEYS].join(', ')})`)
  }
  const ttlMs = boundedMs(opts.ttl, 'refresh ttl', '30d', MINUTE, 365 * DAY)
  const idleMs = boundedMs(opts.idleTtl, 'refresh idleTtl', '7d', MINUTE, 365 * DAY)
  if (idleMs > ttlMs) configError('refresh idleTtl must not exceed ttl: lower idleTtl or raise ttl')
  const graceMs = boundedMs(opts.reuseGrace, 'refresh reuseGrace', '0s', 0, 60_000)

  let successorKey: Buffer | null = null
  if (opts.secret !== undefined) {
    const s = opts.secret
    const bytes = typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : Buffer.isBuffer(s) ? s.length : -1
    if (bytes < 0) configError('refresh secret must be a string or a Buffer')
    if (bytes < MIN_SECRET_BYTES) configError(`refresh secret must be at least ${MIN_SECRET_BYTES} bytes (for example crypto.randomBytes(32).toString('base64url'))`)
    successorKey = deriveSuccessorKey(s)
  }
  if (graceMs > 0 && successorKey === null) {
    configError("refresh reuseGrace above '0s' needs a secret (at least 32 bytes, the same on every instance); set secret or reuseGrace: '0s'")
  }

  const transport = opts.transport ?? (jwtCookie ? 'cookie' : 'body')
  if (!(TRANSPORTS as readonly string[]).includes(transport)) configError(`refresh transport must be one of ${TRANSPORTS.join(', ')}`)

  const r = (opts.routes ?? {}) as Record<string, unknown>
  if (r === null || typeof r !== 'object') configError('refresh routes must be an object')
  for (const k of Object.keys(r)) {
    if (!ROUTE_KEYS.has(k)) configError(`unknown refresh option routes.${k} (allowed: ${[...ROUTE_KEYS].join(', ')})`)
  }
  const routes = Object.freeze({
    refresh: path(r.refresh, 'refresh', '/api/token/refresh', false) as string,
    logout: path(r.logout, 'logout', '/api/logout', false) as string,
    logoutAll: path(r.logoutAll, 'logoutAll', '/api/logout/all', true),
    sessions: path(r.sessions, 'sessions', '/api/sessions', true)
  })

  let purgeMs: number | null = null
  if (opts.purgeInterval !== false) {
    purgeMs = toMs(opts.purgeInterval ?? '1h', 'refresh purgeInterval')
    if (purgeMs < 1000 || purgeMs > DAY) configError("refresh purgeInterval must be between '1s' and '1d', or false")
  }

  return Object.freeze({ ttlMs, idleMs, graceMs, successorKey, transport, routes, purgeMs })
}
