import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { AuditTrail } from './audit.js'
import { challengeErrorFor, isValidRealm } from './challenge.js'
import { configError, isGatekeeperError } from './errors.js'
import { Gatekeeper } from './gatekeeper.js'
import { parseDefaultAuth, type RoutePolicy } from './policy.js'
import { parseRouteTable } from './route-table.js'
import { kAddRoute, kCompileAll, kEarlyRoutes, kIsPublicPath, kLazyPolicy, kRoute, kRunAuthentication, kRunAuthorization, kSetEarlyRoutes } from './symbols.js'
import type { AuthContext, GatekeeperOptions, RouteAuthConfig, StrategyName } from './types.js'
import './augment.js'

/**
 * A part of the core plugin's options that a feature owns (the package's
 * `gatekeeper` plugin wires rate limits, brute force and Redis this way):
 * its keys are accepted beside the core's, validated with the core's, and
 * set up once `app.gatekeeper` exists, before any route is recorded.
 */
export interface CoreSection<S = unknown> {
  /** The option keys it owns (`['rateLimit', 'bruteForce']`). */
  readonly options: readonly string[]
  /** Validates its options (GK_CONFIG on a bad value); runs before anything is set up. */
  parse (opts: GatekeeperOptions): S
  /** Sets the feature up; its onRoute hooks run before the core records a route. */
  setup (app: FastifyInstance, gk: Gatekeeper, settings: S): void | Promise<void>
}

const CORE_KEYS = ['store', 'defaultAuth', 'strict', 'realm', 'audit'] as const
const STORE_PARTS = ['users', 'apiKeys', 'refreshTokens'] as const

function validate (opts: GatekeeperOptions, keys: ReadonlySet<string>): void {
  if (opts === null || typeof opts !== 'object') configError('options must be an object with at least a store')
  for (const k of Object.keys(opts)) {
    if (!keys.has(k)) configError(`unknown option '${k}' (allowed: ${[...keys].join(', ')})`)
  }
  const given: unknown = opts.store
  if (given === undefined || given === null || typeof given !== 'object') {
    configError("the 'store' option is required: memoryStore(), sqliteStore({ filename }) or postgresStore({ connectionString })")
  }
  const store = given as Record<string, unknown>
  for (const part of STORE_PARTS) {
    if (typeof store[part] !== 'object' || store[part] === null) configError(`store.${part} is missing: a store must implement users, apiKeys and refreshTokens`)
  }
  if (typeof store.close !== 'function') configError('store.close() is missing')
  if (opts.strict !== undefined && typeof opts.strict !== 'boolean') configError('strict must be a boolean')
  if (opts.realm !== undefined && !isValidRealm(opts.realm)) configError('realm must be 1-100 printable ASCII characters without quotes or backslashes')
  if (opts.now !== undefined && typeof opts.now !== 'function') configError('now must be a function returning milliseconds')
  const audit = opts.audit as unknown
  if (audit !== undefined) {
    if (audit === null || typeof audit !== 'object') configError('audit must be an object')
    const a = audit as Record<string, unknown>
    for (const k of Object.keys(a)) if (!['log', 'onEvent', 'maxPending'].includes(k)) configError(`unknown option audit.${k} (allowed: log, onEvent, maxPending)`)
    if (a.onEvent !== undefined && typeof a.onEvent !== 'function') configError('audit.onEvent must be a function')
    if (a.log !== undefined && typeof a.log !== 'boolean') configError('audit.log must be a boolean')
    if (a.maxPending !== undefined && (!Number.isInteger(a.maxPending) || (a.maxPending as number) < 1)) configError('audit.maxPending must be a positive integer')
  }
}

/**
 * The core plugin with `sections` plugged in: `createGatekeeper([])` is the
 * core alone; the package root's `gatekeeper` adds rate limits, brute force
 * and Redis.
 */
export function createGatekeeper (sections: ReadonlyArray<CoreSection<any>>): FastifyPluginAsync<GatekeeperOptions> {
  // `now` last, as the options are documented.
  const keys = new Set<string>([...CORE_KEYS, ...sections.flatMap((s) => s.options), 'now'])
  return fp(async function gatekeeperPlugin (app: FastifyInstance, opts: GatekeeperOptions): Promise<void> {
    validate(opts, keys)
    const settings = sections.map((s) => s.parse(opts))
    await setupCore(app, opts, async (gk) => {
      for (let i = 0; i < sections.length; i++) await (sections[i] as CoreSection).setup(app, gk, settings[i])
    })
  }, { fastify: '5.x', name: 'gatekeeper' })
}

async function setupCore (app: FastifyInstance, opts: GatekeeperOptions, setupSections: (gk: Gatekeeper) => Promise<void>): Promise<void> {
  const now = opts.now ?? Date.now
  const defaultAuth = parseDefaultAuth(opts.defaultAuth)
  const strict = opts.strict === true
  await opts.store.init?.()
  const audit = new AuditTrail(app.log, now, opts.audit ?? {})
  const gk = new Gatekeeper({ store: opts.store, realm: opts.realm ?? 'api', defaultAuth, now, logger: app.log, audit })

  // Every route already in Fastify's table predates the core: its onRoute hook never sees them.
  gk[kSetEarlyRoutes](parseRouteTable(app.printRoutes({ commonPrefix: false })))
  app.decorate('gatekeeper', gk)
  app.decorateRequest('auth', null)
  app.decorateRequest('can', function (this: FastifyRequest, permission: string, ownerId?: string | null): boolean {
    return gk.can(this.auth, permission, ownerId)
  })
  app.decorate('authenticate', gk.authenticate())
  // Before any route is added: the rate limiter attaches its hook to each route in onRoute.
  await setupSections(gk)

  app.addHook('onRoute', (route) => {
    const installed: Record<string | symbol, unknown> = { ...route.config }
    if (installed.auth === undefined && gk[kIsPublicPath](route.url)) installed.auth = false
    // `auth` is read when the policy is compiled (onReady), so a later onRoute
    // hook may still set `route.config.auth` in place (for third-party routes).
    const entry = { method: String(route.method), url: route.url, get auth () { return installed.auth }, policy: null }
    installed[kRoute] = entry
    gk[kAddRoute](entry)
    route.config = installed as typeof route.config
  })

  function policyOf (request: FastifyRequest): RoutePolicy | null {
    if (request.is404) return null
    const config = request.routeOptions.config
    return config[kRoute]?.policy ?? gk[kLazyPolicy](config, request.method, request.routeOptions.url ?? request.url)
  }

  app.addHook('onRequest', function gatekeeperAuthenticate (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const policy = policyOf(request)
    if (policy === null) return done()
    let pending: void | Promise<void>
    try {
      pending = gk[kRunAuthentication](policy, request, reply)
    } catch (err) {
      return done(err as Error)
    }
    if (pending === undefined) return done()
    pending.then(() => done(), done)
  })

  app.addHook('preHandler', function gatekeeperAuthorize (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const policy = policyOf(request)
    if (policy === null || policy.public || (!policy.needsAuthorization && request.auth !== null) || (policy.optional && request.auth === null)) return done()
    let pending: void | Promise<void>
    try {
      pending = gk[kRunAuthorization](policy, request, reply)
    } catch (err) {
      return done(err as Error)
    }
    if (pending === undefined) return done()
    pending.then(() => done(), done)
  })

  // RFC 9110 §15.5.2: every 401 names a challenge; RFC 6750 §3 gives 403s one too. Refusals
  // that set none themselves (a failed login, a CSRF check) get the caller's scheme.
  // An onError hook: nothing runs on successful requests.
  app.addHook('onError', function gatekeeperChallenge (request: FastifyRequest, reply: FastifyReply, err: Error, done: () => void) {
    const status = (err as { statusCode?: number }).statusCode
    if ((status === 401 || status === 403) && isGatekeeperError(err) && !reply.hasHeader('www-authenticate')) {
      // A refused DPoP proof (at a login or refresh route) names the DPoP scheme (RFC 9449 §7.1).
      if (err.code.startsWith('GK_DPOP_')) {
        reply.header('www-authenticate', gk.challenge('DPoP', challengeErrorFor(err.code)))
      } else {
        // A signed-in caller refused is short of a grant (RFC 6750 §3.1 insufficient_scope).
        reply.header('www-authenticate', gk.challengeFor(request.auth, status === 403 && request.auth !== null ? 'insufficient_scope' : undefined))
      }
    }
    done()
  })

  // Fastify's default not-found answer repeats the raw URL ("Route GET:/x?token=… not
  // found"): a credential put in a query string would be echoed back and into caches
  // and proxies' logs. Keep the path, drop the query, whoever's handler answered.
  app.addHook('onSend', function gatekeeperScrubNotFound (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void) {
    const q = request.url.indexOf('?')
    if (reply.statusCode !== 404 || q < 0 || typeof payload !== 'string') return done(null, payload)
    const raw = JSON.stringify(request.url).slice(1, -1)
    done(null, payload.includes(raw) ? payload.split(raw).join(`${JSON.stringify(request.url.slice(0, q)).slice(1, -1)}?[Redacted]`) : payload)
  })

  app.addHook('onReady', async function gatekeeperReady () {
    gk[kCompileAll]()
    const early = gk[kEarlyRoutes]()
    if (early.length > 0) {
      const message = `${early.length} route(s) were registered before the gatekeeper plugin (${listRoutes(early)}): they are protected, but their config.auth is read at their first request and could not be checked at start-up; register gatekeeper before any route`
      if (strict) configError(`strict mode: ${message}`)
      app.log.warn({ earlyRoutes: early.length }, `gatekeeper: ${message}`)
    }
    const routes = gk.routes().filter((r) => !r.early)
    const implicit = routes.filter((r) => !r.explicit && !(r.method === 'HEAD' && routes.some((g) => g.method === 'GET' && g.url === r.url && g.explicit)))
    if (strict && implicit.length > 0) {
      configError(`strict mode: ${implicit.length} route(s) have no explicit config.auth: ${listRoutes(implicit)}`)
    }
    const open = routes.filter((r) => r.public).length
    app.log.info({ routes: routes.length + early.length, protected: routes.length - open, public: open, early: early.length, strategies: gk.strategies() },
      `gatekeeper: ${routes.length - open} protected and ${open} public route(s)${early.length > 0 ? `, ${early.length} registered before the core (unchecked)` : ''}; strategies: ${gk.strategies().join(', ') || 'none'}`)
  })

  app.addHook('onClose', async () => {
    await opts.store.close()
  })
}

/** `GET /a, POST /b, …` for a message: the first ten. */
function listRoutes (routes: ReadonlyArray<{ method: string, url: string }>): string {
  return routes.slice(0, 10).map((r) => `${r.method} ${r.url}`).join(', ') + (routes.length > 10 ? `, … (${routes.length - 10} more)` : '')
}

export type { AuthContext, GatekeeperOptions, RouteAuthConfig, StrategyName }
