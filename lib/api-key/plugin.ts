import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { boundedMs, type Duration } from '../core/duration.js'
import { configError, errors } from '../core/errors.js'
import { isInteger, isRecord } from '../core/json.js'
import { declareService } from '../core/services.js'
import type { AuthContext } from '../core/types.js'
import { IpSpread } from './anomaly.js'
import { containsKey, isValidPrefix } from './format.js'
import { createHasher, MIN_PEPPER_BYTES, pepperBytes } from './hash.js'
import { isValidScope } from './input.js'
import { managementRoutes } from './routes.js'
import { ApiKeyService } from './service.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /**
     * API keys: create, list, revoke, rotate, verify, evict. Present once the
     * `apiKey` plugin is registered (typed like `app.jwt` of @fastify/jwt:
     * importing the plugin declares it).
     */
    readonly apiKeys: ApiKeyService
  }
}

declareService('apiKeys', 'apiKey')

/** Options of the `apiKey` plugin. */
export interface ApiKeyOptions {
  /** The request header that carries the key (default `'x-api-key'`). */
  header?: string
  /** The key prefix, 2–8 lowercase letters or digits (default `'gk'`); keys look like `gk_…`. */
  prefix?: string
  /** HMAC-SHA256 key (at least 32 bytes) for hashing keys; without it keys are hashed with plain SHA-256. */
  pepper?: string | Uint8Array
  /** Also accept `Authorization: Bearer <key>` when the value starts with `<prefix>_` (default `true`). */
  bearer?: boolean
  /** The cache of verified keys (default `{ max: 10000, ttl: '30s' }`); `false` reads the store on every request. */
  cache?: { max?: number, ttl?: Duration } | false
  /** Management routes (default `{ prefix: '/api/keys', permission: 'apikeys:manage' }`); `false` registers none. */
  routes?: { prefix?: string, permission?: string } | false
  /** Report a key used from `ips` distinct addresses within `window` (default `{ ips: 20, window: '10m' }`); `false` turns it off. */
  anomaly?: { ips?: number, window?: Duration } | false
}

/** The options after validation. */
interface Normalized {
  readonly header: string
  readonly prefix: string
  readonly pepper: Buffer | undefined
  readonly bearer: boolean
  readonly cache: { readonly max: number, readonly ttl: number }
  readonly routes: { readonly prefix: string, readonly permission: string } | null
  readonly anomaly: { readonly ips: number, readonly window: number } | null
}

const KEYS = ['header', 'prefix', 'pepper', 'bearer', 'cache', 'routes', 'anomaly']
// Header names a key must never be read from: they carry other credentials or are rewritten by proxies.
const RESERVED_HEADERS = new Set(['authorization', 'cookie', 'host', 'proxy-authorization', 'set-cookie'])

function plainObject (value: unknown, name: string, allowed: string[]): Record<string, unknown> {
  if (!isRecord(value)) return configError(`${name} must be an object (or false)`)
  for (const k of Object.keys(value)) if (!allowed.includes(k)) configError(`unknown option ${name}.${k} (allowed: ${allowed.join(', ')})`)
  return value
}

/** Validates and normalises the options once, at registration. */
export function normalizeOptions (opts: ApiKeyOptions = {}): Normalized {
  const o = plainObject(opts, 'apiKey options', KEYS)
  const header = o.header ?? 'x-api-key'
  if (typeof header !== 'string' || !/^[a-z0-9-]{1,64}$/i.test(header) || RESERVED_HEADERS.has(header.toLowerCase())) {
    configError("apiKey header must be a header name such as 'x-api-key' (letters, digits, '-'; not authorization or cookie)")
  }
  const prefix = o.prefix ?? 'gk'
  if (!isValidPrefix(prefix)) configError("apiKey prefix must be 2-8 lowercase letters or digits, such as 'gk' or 'acme'")
  let pepper: Buffer | undefined
  if (o.pepper !== undefined) {
    if (typeof o.pepper !== 'string' && !(o.pepper instanceof Uint8Array)) configError('apiKey pepper must be a string or a Buffer')
    pepper = pepperBytes(o.pepper)
    if (pepper.length < MIN_PEPPER_BYTES) configError(`apiKey pepper must be at least ${MIN_PEPPER_BYTES} bytes: generate one with crypto.randomBytes(32).toString('base64')`)
  }
  if (o.bearer !== undefined && typeof o.bearer !== 'boolean') configError('apiKey bearer must be a boolean')

  let cache = { max: 0, ttl: 0 }
  if (o.cache !== false) {
    const c = plainObject(o.cache ?? {}, 'apiKey cache', ['max', 'ttl'])
    const max = c.max ?? 10_000
    if (!isInteger(max) || max < 1 || max > 1_000_000) configError('apiKey cache.max must be an integer from 1 to 1000000 (or cache: false)')
    cache = { max, ttl: boundedMs(c.ttl, 'apiKey cache.ttl', '30s', 1000, 600_000) }
  }

  let routes: Normalized['routes'] = null
  if (o.routes !== false) {
    const r = plainObject(o.routes ?? {}, 'apiKey routes', ['prefix', 'permission'])
    const routePrefix = r.prefix ?? '/api/keys'
    if (typeof routePrefix !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(routePrefix)) configError("apiKey routes.prefix must be a path such as '/api/keys' (no trailing slash)")
    const permission = r.permission ?? 'apikeys:manage'
    if (!isValidScope(permission)) configError("apiKey routes.permission must be a permission such as 'apikeys:manage'")
    routes = { prefix: routePrefix, permission }
  }

  let anomaly: Normalized['anomaly'] = null
  if (o.anomaly !== false) {
    const a = plainObject(o.anomaly ?? {}, 'apiKey anomaly', ['ips', 'window'])
    const ips = a.ips ?? 20
    if (!isInteger(ips) || ips < 2 || ips > 10_000) configError('apiKey anomaly.ips must be an integer from 2 to 10000 (or anomaly: false)')
    anomaly = { ips, window: boundedMs(a.window, 'apiKey anomaly.window', '10m', 60_000, 86_400_000) }
  }

  return Object.freeze({ header: header.toLowerCase(), prefix, pepper, bearer: o.bearer !== false, cache: Object.freeze(cache), routes, anomaly })
}

/**
 * Reads the presented key: the configured header first, then a Bearer
 * token carrying our prefix. `undefined` when none is present.
 */
function makeExtractor (o: Normalized): (request: FastifyRequest) => string | undefined {
  const marker = `${o.prefix}_`
  const { header, bearer, prefix } = o
  return (request) => {
    const url = request.url
    const q = url.indexOf('?')
    // A key in the URL ends up in access logs, proxies and browser history: refuse it outright.
    if (q !== -1 && containsKey(url, prefix, q)) {
      throw new errors.GK_INVALID_REQUEST(`API keys are not accepted in the URL; send the ${header} header`)
    }
    const value = request.headers[header]
    if (value !== undefined) return typeof value === 'string' ? value : ''
    if (!bearer) return undefined
    const authorization = request.headers.authorization
    // RFC 7235 §2.1: the scheme is case-insensitive; only tokens with our prefix are ours, the rest is left to other strategies.
    if (typeof authorization === 'string' && authorization.startsWith(marker, 7) &&
      (authorization.startsWith('Bearer ') || authorization.slice(0, 7).toLowerCase() === 'bearer ')) {
      return authorization.slice(7)
    }
    return undefined
  }
}

async function apiKeyPlugin (app: FastifyInstance, opts: ApiKeyOptions): Promise<void> {
  requirePlugins(app, 'apiKey', ['gatekeeper'])
  const o = normalizeOptions(opts)
  const gk = app.gatekeeper
  const service = new ApiKeyService({
    gk,
    prefix: o.prefix,
    hasher: createHasher(o.pepper),
    cacheMax: o.cache.max,
    cacheTtl: o.cache.ttl,
    spread: o.anomaly === null ? null : new IpSpread(o.anomaly.ips, o.anomaly.window),
    spreadWindow: o.anomaly?.window ?? 0,
    log: app.log
  })
  gk.provide('apiKeys', service)
  const extract = makeExtractor(o)

  gk.registerStrategy({
    name: 'apiKey',
    scheme: 'ApiKey',
    kinds: ['application'],
    // An owner's permissions come from the permission model alone.
    ownPermissions: false,
    securitySchemes: { apiKeyAuth: { type: 'apiKey', in: 'header', name: o.header } },
    authenticate (request): AuthContext | null | Promise<AuthContext> {
      const key = extract(request)
      return key === undefined ? null : service.check(key, request)
    }
  })

  if (o.routes !== null) {
    await app.register(managementRoutes, { prefix: o.routes.prefix, service, permission: o.routes.permission })
  }

  app.addHook('preClose', async () => {
    await service.drain()
  })
}

/**
 * API keys for applications: `<prefix>_` keys with a CRC32 checksum, stored
 * only as hashes, scoped (scopes ∩ owner's permissions), expiring, revocable
 * and rotatable with overlap, verified from a bounded cache.
 */
export const apiKey = fp(apiKeyPlugin, { fastify: '5.x', name: 'gatekeeper-api-key' })
