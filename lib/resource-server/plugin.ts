import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { configError, errors } from '../core/errors.js'
import { declareService } from '../core/services.js'
import type { AuthContext, RouteProtection } from '../core/types.js'
import '../core/augment.js'
import { isInsufficientScope, withBearerParams } from './challenge.js'
import { STRATEGY_NAME } from './claims.js'
import { IssuerMismatch } from './discovery.js'
import { causeOf, EVENT_OUTCOMES, Throttle, type RecordEvent } from './events.js'
import { IssuerRuntime, type IssuerEvents, type IssuerStatus } from './issuer.js'
import { refuseDowngrade } from '../dpop/bound.js'
import { metadataDocument, metadataPaths, metadataUrl } from './metadata.js'
import { normalizeOptions, type ResourceServerOptions } from './options.js'
import { ResourceServerStrategy } from './strategy.js'
import { requirePlugins } from '../core/requires.js'

/** `app.gatekeeper.resourceServer`: what the plugin offers besides its strategy. */
export interface ResourceServerApi {
  /** This API's resource identifier, as configured. */
  readonly resource: string
  /** The URL of its RFC 9728 metadata, as challenges name it. */
  readonly metadataUrl: string
  /** The RFC 9728 metadata document. */
  metadata (): Readonly<Record<string, unknown>>
  /** Verifies a token as a request's would be (for a WebSocket upgrade, a queue message). Rejects with the same `GK_` errors. */
  verify (token: string): Promise<AuthContext>
  /** Fetches an issuer's keys now (every issuer's when none is named), after a rotation you know of. */
  refreshKeys (issuer?: string): Promise<void>
  /** The configured issuers and the state of their metadata and keys. */
  issuers (): IssuerStatus[]
  /** Forgets cached verified tokens (of one issuer when named), so their next use is verified again. */
  evict (issuer?: string): void
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /**
     * The resourceServer plugin's service (importing the plugin declares it).
     * Reading it before the plugin is registered throws `GK_CONFIG`.
     */
    readonly resourceServer: ResourceServerApi
  }
}

declareService('resourceServer', 'resourceServer')

/** The scope a route asks for, for challenges: its own scopes and those of its first `anyOf` alternative naming any. */
function scopeOf (r: RouteProtection): string | null {
  const scopes = new Set(r.scopes)
  for (const s of r.anyOf.find((a) => a.scopes.length > 0)?.scopes ?? []) scopes.add(s)
  return scopes.size === 0 ? null : [...scopes].join(' ')
}

async function resourceServerPlugin (app: FastifyInstance, opts: ResourceServerOptions): Promise<void> {
  requirePlugins(app, 'resourceServer', ['gatekeeper'])
  const o = normalizeOptions(opts)
  const gk = app.gatekeeper
  if (gk.has('resourceServer')) configError('resourceServer: the plugin is already registered; register it once, with every issuer')
  const throttle = new Throttle(gk.now)
  const record: RecordEvent = (type, payload) => { gk.record({ type, ...EVENT_OUTCOMES[type], ...payload }) }
  let strategy: ResourceServerStrategy | null = null

  const events: IssuerEvents = {
    keysChanged (issuer, kids, before) {
      // A key the provider withdrew voids the tokens it verified, cached or not.
      strategy?.evictWithdrawn(issuer, kids)
      const name = (k: string | null): string => k ?? '(no kid)'
      record('resource.keys_changed', { issuer, keys: kids.size, added: [...kids].filter((k) => !before.has(k)).map(name), removed: [...before].filter((k) => !kids.has(k)).map(name) })
    },
    failed (issuer, endpoint, err) {
      if (!throttle.allow(`${endpoint} ${issuer}`)) return
      const cause = causeOf(err)
      app.log.warn({ issuer, endpoint, cause }, `resourceServer: ${endpoint} of ${issuer} failed`)
      record('resource.provider_unavailable', { issuer, endpoint, cause })
    }
  }
  const issuers = o.issuers.map((config) => new IssuerRuntime(config, { fetch: o.fetch, jwks: o.jwks, now: gk.now, events }))

  strategy = new ResourceServerStrategy({
    issuers,
    scopes: o.scopes,
    cacheSize: o.cacheSize,
    now: gk.now,
    retryAfterS: Math.ceil(o.jwks.cooldownMs / 1000),
    dpop: { service: () => gk.has('dpop') ? gk.dpop : undefined, downgrade: (request, ctx) => refuseDowngrade(gk, request, ctx) },
    caller: {
      permissionsOf: (roles) => gk.permissionsOf(roles),
      onMappingError (issuer, err) {
        if (!throttle.allow(`claims ${issuer}`)) return
        app.log.error({ issuer, err }, 'resourceServer: the claims function of an issuer failed; its tokens are refused')
        record('resource.claims_mapping_failed', { issuer, cause: causeOf(err) })
      }
    }
  })
  const rs = strategy
  gk.registerStrategy(rs)

  // Metadata and keys before the first request; an unreachable provider is not fatal (503 until it answers), a wrong issuer is.
  await Promise.all(issuers.map(async (issuer) => {
    try {
      await issuer.warm()
    } catch (err) {
      if (err instanceof IssuerMismatch) configError(`resourceServer: issuer '${issuer.config.issuer}': ${err.message}`)
      app.log.warn({ issuer: issuer.config.issuer, cause: causeOf(err) }, 'resourceServer: the provider could not be reached at start-up; its tokens are answered 503 until it is')
    }
  }))

  const url = metadataUrl(o.resource)
  if (o.metadata !== null) {
    let body: string | null = null
    for (const path of metadataPaths(o.resource)) {
      app.get(path, { config: { auth: false } }, async (_request, reply) => {
        reply.type('application/json').header('cache-control', 'public, max-age=3600')
        // Built on first use, once the dpop plugin (registered before or after) is known.
        body ??= JSON.stringify(metadataDocument(o, gk.has('dpop') ? gk.dpop : undefined))
        return body
      })
    }
  }

  // RFC 9728 §5.1 and the MCP authorization spec: every 401 of a route this strategy may answer names the
  // metadata (and the scope the route needs), so a client can find where to get a token.
  const routes = new Map<string, string | null>()
  app.addHook('onReady', async function resourceServerRoutes () {
    for (const r of gk.routes()) {
      if (!r.public && (r.strategies === null || r.strategies.includes(STRATEGY_NAME))) routes.set(`${r.method} ${r.url}`, scopeOf(r))
    }
  })
  // An onError hook: refusals are thrown errors, and nothing runs on a request that succeeds.
  app.addHook('onError', function resourceServerChallenge (request: FastifyRequest, reply: FastifyReply, error: Error, done: () => void) {
    const status = (error as { statusCode?: unknown }).statusCode
    if ((status !== 401 && status !== 403) || request.is404) return done()
    const scope = routes.get(`${request.method} ${request.routeOptions.url ?? ''}`)
    if (scope === undefined) return done()
    const current = reply.getHeader('www-authenticate')
    const header = typeof current === 'string' ? current : Array.isArray(current) ? current.join(', ') : ''
    // A 403 that is not about scope (a failed CSRF check) keeps its challenge as it is.
    if (status === 403 && !isInsufficientScope(header)) return done()
    const params: Array<[string, string]> = [['resource_metadata', url]]
    if (scope !== null) params.push(['scope', scope])
    reply.header('www-authenticate', withBearerParams(header, params, status === 401 ? { realm: gk.realm } : null))
    done()
  })

  const api: ResourceServerApi = Object.freeze({
    resource: o.resourceId,
    metadataUrl: url,
    metadata: () => metadataDocument(o, gk.has('dpop') ? gk.dpop : undefined),
    async verify (token: string): Promise<AuthContext> {
      const result = rs.check(token)
      if (result === null) throw new errors.GK_TOKEN_INVALID()
      return await result
    },
    async refreshKeys (issuer?: string): Promise<void> {
      const chosen = issuers.filter((i) => issuer === undefined || i.config.issuer === issuer)
      if (chosen.length === 0) configError(`resourceServer.refreshKeys: '${issuer ?? ''}' is not a configured issuer`)
      await Promise.all(chosen.filter((i) => i.config.secret === null).map(async (i) => { await (await i.keys()).reload() }))
    },
    issuers: () => issuers.map((i) => i.status()),
    evict: (issuer?: string) => { rs.evict(issuer) }
  })
  gk.provide('resourceServer', api)
}

/**
 * The `resourceServer` plugin: trusts access tokens of the authorization
 * servers you configure (Auth0, Keycloak, Entra ID, Cognito, Okta, Google,
 * ZITADEL, any RFC 9068 issuer), serves RFC 9728 metadata, and registers
 * the `resourceServer` strategy. Register it after the core `gatekeeper`.
 */
export const resourceServer = fp(resourceServerPlugin, { fastify: '5.x', name: 'gatekeeper-resource-server' })

export type { ResourceServerOptions }
