import type {
  FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyPluginOptions, FastifyReply,
  FastifyRequest, HookHandlerDoneFunction
} from 'fastify'
import fp from 'fastify-plugin'
import { configError, errors } from '../core/errors.js'
import { declareService } from '../core/services.js'
import { withResponses } from '../core/openapi.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { Gate } from '../core/policy.js'
import { deprecationValue, encodeUriReference, linkValue, sunsetValue } from './headers.js'
import { byVersionNumber, matchVersion } from './match.js'
import { parseOptions, type VersioningOptions, type VersionSpec } from './options.js'
import { Throttle } from './throttle.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

/** Registers a plugin under a version's prefix; see {@link Gatekeeper.version}. */
export interface VersionHelper {
  <Options extends FastifyPluginOptions = FastifyPluginOptions>(version: string, plugin: FastifyPluginAsync<Options>, opts?: Options): FastifyInstance & PromiseLike<undefined>
  <Options extends FastifyPluginOptions = FastifyPluginOptions>(version: string, plugin: FastifyPluginCallback<Options>, opts?: Options): FastifyInstance & PromiseLike<undefined>
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /**
     * Registers `plugin` with the prefix of `version` (`/api/v1`; an
     * `opts.prefix` is appended below it) on the instance the versioning
     * plugin was registered on. Set by the versioning plugin.
     */
    readonly version: VersionHelper
  }
}

declareService('version', 'versioning')

declare module 'fastify' {
  interface FastifyRequest {
    /** The API version of the route that serves this request (`'v1'`), or `null` outside versioned paths. */
    apiVersion: string | null
  }
}

/** A deprecation audit event fires at most once per hour for each (version, caller). */
const AUDIT_INTERVAL_MS = 3_600_000
/** The number of (version, caller) pairs remembered for that purpose. */
const AUDIT_KEYS_MAX = 10_000

interface VersionRuntime {
  readonly spec: VersionSpec
  /** `Deprecation` and `Sunset`, computed once. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The `Link` value pointing at the successor's root (plus the deprecation link), or `null`. */
  readonly link: string | null
  /** The `rel="deprecation"` link-value appended after a per-request successor link, or `''`. */
  readonly linkTail: string
}

function runtimeOf (spec: VersionSpec, prefix: string): VersionRuntime {
  const headers: Array<[string, string]> = []
  if (spec.deprecatedAt !== null) headers.push(['deprecation', deprecationValue(spec.deprecatedAt)])
  if (spec.sunsetAt !== null) headers.push(['sunset', sunsetValue(spec.sunsetAt)])
  const tail = spec.deprecationLink === null ? '' : linkValue(spec.deprecationLink, 'deprecation')
  const successor = spec.successor === null ? null : linkValue(`${prefix}/${spec.successor}`, 'successor-version')
  const links = [successor, tail].filter((l) => l !== null && l !== '')
  return Object.freeze({ spec, headers, link: links.length === 0 ? null : links.join(', '), linkTail: tail === '' ? '' : `, ${tail}` })
}

/** An `opts.prefix` given to `version()`: a path below the version, route parameters allowed. */
function subPrefix (value: unknown): string {
  if (value === undefined || value === '' || value === '/') return ''
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('?') || value.includes('#')) {
    return configError(`version(): opts.prefix must be a path below the version such as '/admin' (got '${String(value)}')`)
  }
  return value.endsWith('/') ? value.slice(0, -1) : value
}

async function versioningPlugin (app: FastifyInstance, opts: VersioningOptions): Promise<void> {
  requirePlugins(app, 'versioning', ['gatekeeper'])
  const config = parseOptions(opts)
  const gk: Gatekeeper = app.gatekeeper
  if (gk.has('version')) configError('the versioning plugin is registered twice; register it once with every version')
  const { prefix } = config
  const runtimes = new Map<string, VersionRuntime>()
  for (const spec of config.versions.values()) runtimes.set(spec.name, runtimeOf(spec, prefix))
  const names = [...runtimes.keys()].sort(byVersionNumber)
  const throttle = new Throttle(AUDIT_INTERVAL_MS, AUDIT_KEYS_MAX)

  function isGone (v: VersionRuntime, now: number): boolean {
    return v.spec.sunsetAt !== null && now >= v.spec.sunsetAt
  }

  /** The route pattern for audit events; never the raw path, which may carry secrets in its query. */
  function routeOf (request: FastifyRequest, v: VersionRuntime): string {
    return `${request.method} ${request.routeOptions.url ?? `${prefix}/${v.spec.name}/*`}`
  }

  /** Marks the request as `v`'s, sets the version's headers, and refuses it once `v` is sunset. */
  function enter (v: VersionRuntime, request: FastifyRequest, reply: FastifyReply, sameRouteInSuccessor: boolean): void {
    request.apiVersion = v.spec.name
    for (const [name, value] of v.headers) reply.header(name, value)
    if (v.link !== null) {
      const rest = sameRouteInSuccessor ? matchVersion(request.url, prefix)?.rest : undefined
      reply.header('link', rest === undefined
        ? v.link
        : linkValue(`${prefix}/${v.spec.successor as string}${encodeUriReference(rest)}`, 'successor-version') + v.linkTail)
    }
    const now = gk.now()
    if (isGone(v, now)) {
      // Before any strategy runs: a dead version checks no credential.
      if (throttle.take(`gone\0${v.spec.name}\0${request.ip}`, now)) {
        gk.record({ type: 'version.gone', outcome: 'failure', reason: 'GK_VERSION_GONE', version: v.spec.name, route: routeOf(request, v) }, request)
      }
      throw new errors.GK_VERSION_GONE(v.spec.name)
    }
  }

  gk.addRouteExtension({
    defaultAuth (url) {
      const m = matchVersion(url, prefix)
      return m === null ? undefined : runtimes.get(m.version)?.spec.auth
    },
    gates (url, method): Gate[] {
      const m = matchVersion(url, prefix)
      const v = m === null ? undefined : runtimes.get(m.version)
      if (m === null || v === undefined) return []
      // The successor link points at the same resource in the successor
      // version when that version serves the same route, else at its root.
      const successor = v.spec.successor
      const same = successor !== null &&
        app.hasRoute({ method: (method.split(',')[0] as string) as 'GET', url: `${prefix}/${successor}${m.rest}` })
      return [(request, reply) => { enter(v, request, reply, same) }]
    },
    // The deprecated-call audit runs in the core's own onRequest hook once the
    // caller is known: a per-route onResponse hook cost 2-5 µs a request.
    afterAuthentication (url) {
      const m = matchVersion(url, prefix)
      const v = m === null ? undefined : runtimes.get(m.version)
      if (v === undefined || v.spec.deprecatedAt === null) return []
      return [(request) => { auditDeprecatedCall(request, v) }]
    }
  })

  app.decorateRequest('apiVersion', null)

  // OpenAPI: @fastify/swagger reads `schema.deprecated` from the route options; a
  // version with a sunset answers 410 from then on.
  app.addHook('onRoute', (route) => {
    const m = matchVersion(route.url, prefix)
    const v = m === null ? undefined : runtimes.get(m.version)
    if (v === undefined) return
    if (v.spec.deprecatedAt !== null) route.schema = { ...route.schema, deprecated: true } as typeof route.schema
    if (v.spec.sunsetAt !== null) route.schema = withResponses(route.schema, [410])
  })

  // Fastify's 404 handler is public to the core, so versioned paths that
  // match no route are handled here: an undeclared version is a 404 naming
  // the versions served, a declared one keeps its headers and its sunset.
  app.addHook('onRequest', function versionNotFound (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    if (!request.is404) return done()
    const m = matchVersion(request.url, prefix)
    if (m === null) return done()
    const v = runtimes.get(m.version)
    if (v === undefined) {
      const now = gk.now()
      const served = names.filter((n) => !isGone(runtimes.get(n) as VersionRuntime, now))
      const asked = m.version.length <= 11 ? `API version ${m.version} does not exist` : 'this API version does not exist'
      return done(new errors.GK_NOT_FOUND(`${asked}; supported versions: ${served.join(', ') || 'none'}`))
    }
    try {
      enter(v, request, reply, false)
    } catch (err) {
      return done(err as Error)
    }
    // A path the version does not serve: no route-level hook, so audit here.
    auditDeprecatedCall(request, v)
    done()
  })

  /** One `version.deprecated_call` per (version, caller) and hour, once the deprecation date has passed. */
  function auditDeprecatedCall (request: FastifyRequest, v: VersionRuntime): void {
    const now = gk.now()
    if (v.spec.deprecatedAt === null || now < v.spec.deprecatedAt) return
    const caller = request.auth === null ? `ip:${request.ip}` : `sub:${request.auth.subject}`
    if (throttle.take(`dep\0${v.spec.name}\0${caller}`, now)) {
      gk.record({
        type: 'version.deprecated_call',
        version: v.spec.name,
        route: routeOf(request, v),
        deprecated: new Date(v.spec.deprecatedAt).toISOString(),
        sunset: v.spec.sunsetAt === null ? null : new Date(v.spec.sunsetAt).toISOString(),
        successor: v.spec.successor
      }, request)
    }
  }

  // A route under a version nobody declared would otherwise be served with
  // no version semantics at all; refuse to start instead.
  app.addHook('onReady', async function versionRoutesDeclared () {
    const stray = new Set<string>()
    for (const r of gk.routes()) {
      const m = matchVersion(r.url, prefix)
      if (m !== null && !runtimes.has(m.version)) stray.add(r.url)
    }
    if (stray.size > 0) {
      configError(`route(s) under undeclared versions: ${[...stray].slice(0, 5).join(', ')}; declare the version in versions or move the route`)
    }
  })

  gk.provide('version', function version (name: string, plugin: FastifyPluginAsync | FastifyPluginCallback, options?: FastifyPluginOptions) {
    if (!runtimes.has(name)) configError(`version('${name}'): not a declared version (declared: ${names.join(', ')})`)
    const below = subPrefix(options?.prefix)
    return app.register(plugin as FastifyPluginAsync, { ...options, prefix: `${prefix}/${name}${below}` })
  })
}

/**
 * URI versioning: routes under `${prefix}/vN/` belong to version `vN`, get
 * its default protection, `Deprecation` / `Sunset` / `Link` headers, and a
 * 410 `GK_VERSION_GONE` from its sunset on; unknown versions answer 404.
 */
export const versioning = fp(versioningPlugin, { fastify: '5.x', name: 'gatekeeper-versioning' })

export type { VersioningOptions }
