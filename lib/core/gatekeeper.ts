import type { FastifyBaseLogger, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { GatekeeperStore } from '../stores/types.js'
import { AuditTrail, type AuditInput } from './audit.js'
import { authScheme, challenge, challengeErrorFor, type ChallengeError } from './challenge.js'
import { configError, errors } from './errors.js'
import { literalModel, type PermissionModel } from './permissions.js'
import { compilePolicy, describe, describeEarly, type AfterAuthentication, type Gate, type RoutePolicy } from './policy.js'
import type { TableRoute } from './route-table.js'
import { kAddRoute, kChallenge, kServices, kCompileAll, kEarlyRoutes, kIsPublicPath, kLazyPolicy, kResolveStrategies, kRunAuthentication, kRunAuthorization, kSetEarlyRoutes } from './symbols.js'
import type { AuditEvent, AuditEventType, AuthContext, GatekeeperEventMap, DefaultAuth, RouteProtection, RouteRequirement, Strategy } from './types.js'

/**
 * Lets a plugin shape the policy of routes it owns (the versioning plugin
 * uses it for per-version defaults and the sunset gate).
 */
export interface RouteExtension {
  /** The default strategies of a route without `config.auth`, or `undefined` to keep the core's. */
  defaultAuth? (url: string, method: string): DefaultAuth | undefined
  /** Checks to run before authentication on this route. */
  gates? (url: string, method: string): Gate[]
  /** Steps to run once a request of this route is let in (no extra Fastify hook: the core's own runs them). */
  afterAuthentication? (url: string, method: string): AfterAuthentication[]
}

/** A route as recorded by `onRoute`; its policy is compiled when the app is ready. */
export interface RouteEntry {
  method: string
  url: string
  auth: unknown
  policy: RoutePolicy | null
}

/** `app.gatekeeper`: the store, the strategy registry, route policies, audit and events. */
export class Gatekeeper {
  /** The storage adapter every plugin shares. */
  readonly store: GatekeeperStore
  /** The realm of `WWW-Authenticate` challenges. */
  readonly realm: string
  /** The audit trail; `app.gatekeeper.audit.record({ type, ... }, request)`. */
  readonly audit: AuditTrail
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now: () => number

  /** The services plugins provide, by name: read through their getters (see `declareService`). */
  readonly [kServices] = new Map<string, unknown>()
  readonly #strategies = new Map<string, Strategy>()
  readonly #extensions: RouteExtension[] = []
  readonly #publicPrefixes: string[] = []
  readonly #routes: RouteEntry[] = []
  readonly #lazy = new WeakMap<object, RoutePolicy>()
  /** Policies of `authenticate()` hooks made before the app was ready: their strategies are resolved at start-up. */
  readonly #hookPolicies: RoutePolicy[] = []
  /** Routes found in Fastify's route table when the core was registered: the core never saw them. */
  #early: readonly TableRoute[] = []
  readonly #logger: FastifyBaseLogger
  readonly #challenges = new WeakMap<Strategy[], string>()
  readonly #defaultAuth: DefaultAuth
  /** Extra parameters of every challenge of a scheme, by lower-cased scheme (DPoP's `algs`). */
  readonly #schemeParams = new Map<string, string>()
  /** The dpop plugin's policy for routes that do not state theirs; `null` without the plugin. */
  #dpopPolicy: 'required' | 'allowed' | null = null
  #model: PermissionModel = literalModel
  #ready = false

  constructor (opts: { store: GatekeeperStore, realm: string, defaultAuth: DefaultAuth, now: () => number, logger: FastifyBaseLogger, audit: AuditTrail }) {
    this.store = opts.store
    this.realm = opts.realm
    this.now = opts.now
    this.#defaultAuth = opts.defaultAuth
    this.audit = opts.audit
    this.#logger = opts.logger
  }

  /**
   * Whether the plugin providing the service `name` is registered
   * (`app.gatekeeper.has('rbac')`): reading the service itself when it is
   * not throws `GK_CONFIG`.
   */
  has (name: string): boolean {
    return this[kServices].has(name)
  }

  /**
   * Makes `service` `app.gatekeeper[name]`: a plugin calls it once, when it
   * is registered; a second call for a name is a GK_CONFIG error. The name
   * is typed by declaration merging on `Gatekeeper` and read through the
   * getter `declareService(name, plugin)` defines.
   */
  provide<K extends keyof Gatekeeper & string> (name: K, service: Gatekeeper[K]): void {
    if (this[kServices].has(name)) configError(`app.gatekeeper.${name} is provided twice: register its plugin once`)
    this[kServices].set(name, service)
  }

  /** Registers a strategy; a second strategy of the same name is a GK_CONFIG error. */
  registerStrategy (strategy: Strategy): void {
    if (this.#strategies.has(strategy.name)) configError(`a strategy named '${strategy.name}' is already registered`)
    this.#strategies.set(strategy.name, strategy)
  }

  /** The registered strategy of this name. */
  strategy (name: string): Strategy | undefined {
    return this.#strategies.get(name)
  }

  /**
   * The `WWW-Authenticate` challenge for a refusal of `auth`'s request: it
   * names the scheme of the strategy that authenticated the caller (an API
   * key's refusal says `ApiKey`, a token's `Bearer`), `Bearer` for an
   * anonymous caller; `error` per RFC 6750 §3.1.
   */
  challengeFor (auth: AuthContext | null, error?: ChallengeError): string {
    const scheme = auth === null ? 'Bearer' : auth.scheme ?? this.#strategies.get(auth.strategy)?.scheme ?? 'Bearer'
    return this.challenge(scheme, error)
  }

  /** One challenge of `scheme` in this realm, with the scheme's registered parameters (see {@link setSchemeParams}). */
  challenge (scheme: string, error?: ChallengeError): string {
    return challenge(scheme, this.realm, error, this.#schemeParams.get(scheme.toLowerCase()))
  }

  /**
   * Parameters added to every challenge of `scheme`, already formatted
   * (the dpop plugin sets `algs="ES256 EdDSA …"` for `DPoP`, RFC 9449 §7.1).
   */
  setSchemeParams (scheme: string, params: string): void {
    if (this.#ready) configError('scheme parameters must be set before the app is ready')
    this.#schemeParams.set(scheme.toLowerCase(), params)
  }

  /**
   * The DPoP policy of routes whose `config.auth` does not state one (the
   * dpop plugin sets it): `'required'` lets only DPoP-bound callers in.
   */
  setDpopPolicy (policy: 'required' | 'allowed'): void {
    if (this.#ready) configError('the DPoP policy must be set before the app is ready')
    this.#dpopPolicy = policy
  }

  /** The dpop plugin's policy, or `null` when it is not registered. */
  get dpopPolicy (): 'required' | 'allowed' | null {
    return this.#dpopPolicy
  }

  /** The names of the registered strategies, in registration order. */
  strategies (): string[] {
    return [...this.#strategies.keys()]
  }

  /** Replaces the permission model (the rbac plugin does). */
  setPermissionModel (model: PermissionModel): void {
    this.#model = model
  }

  /** The permission model in force. */
  get permissionModel (): PermissionModel {
    return this.#model
  }

  /** The permissions `roles` grant under the model in force. */
  permissionsOf (roles: readonly string[]): readonly string[] {
    return this.#model.permissionsOf(roles)
  }

  /**
   * Makes the routes registered from now on under `prefix` public unless
   * they state their own `config.auth`: the one line that opens a
   * third-party plugin's routes, such as a documentation UI
   * (`app.gatekeeper.publicPrefix('/docs')` before registering it). Counts
   * as an explicit policy in strict mode. Only give a prefix that plugin alone uses.
   */
  publicPrefix (prefix: string): void {
    if (this.#ready) configError('publicPrefix must be called before the app is ready, and before the routes under it are registered')
    if (typeof prefix !== 'string' || !/^(\/[A-Za-z0-9\-._~]+)+$/.test(prefix)) configError(`publicPrefix takes a path such as '/docs' (no trailing slash, no parameters); got ${JSON.stringify(prefix)}`)
    this.#publicPrefixes.push(prefix)
  }

  /** @internal Whether a route at `url` falls under a {@link publicPrefix}. */
  [kIsPublicPath] (url: string): boolean {
    for (const p of this.#publicPrefixes) if (url === p || url.startsWith(`${p}/`)) return true
    return false
  }

  /** Adds a route extension; it applies to every route, also those already added. */
  addRouteExtension (ext: RouteExtension): void {
    if (this.#ready) configError('route extensions must be added before the app is ready')
    this.#extensions.push(ext)
  }

  /** Subscribes to an event (`'audit'`, `'anomaly'`, or an audit event type such as `'login.failure'`). Returns an unsubscribe function. */
  on<E extends keyof GatekeeperEventMap> (event: E, fn: (payload: GatekeeperEventMap[E]) => void): () => void {
    return this.audit.on(event, fn)
  }

  /** Emits an event to its listeners (plugins use it for `'anomaly'`). */
  emit<E extends keyof GatekeeperEventMap> (event: E, payload: GatekeeperEventMap[E]): void {
    this.audit.emit(event, payload)
  }

  /** Records an audit event (shorthand for `audit.record`). */
  record<K extends AuditEventType> (input: AuditInput<K>, request?: FastifyRequest): AuditEvent<K> {
    return this.audit.record(input, request)
  }

  /**
   * Every route with its protection. Routes registered before the core are
   * listed with `early: true`: the core never saw their config, so only
   * their method and URL (from Fastify's route table) are known.
   */
  routes (): RouteProtection[] {
    const rows = this.#routes.map((r) => describe(r.method, r.url, this.#policyOf(r)))
    for (const r of this.#early) rows.push(describeEarly(r.method, r.url))
    return rows
  }

  /**
   * An onRequest hook that authenticates with the given strategies (default:
   * every registered one), for users who prefer explicit hooks.
   */
  authenticate (strategies?: readonly string[]): onRequestHookHandler {
    const policy = compilePolicy(strategies === undefined ? undefined : [...strategies], 'authenticated', 'authenticate()')
    // A strategy name that no plugin registered fails the start-up, not every request.
    if (this.#ready) this[kResolveStrategies](policy, 'authenticate()')
    else this.#hookPolicies.push(policy)
    return async (request, reply) => {
      await this[kRunAuthentication](policy, request, reply)
    }
  }

  /** @internal Records a route seen by onRoute. */
  [kAddRoute] (entry: RouteEntry): void {
    this.#routes.push(entry)
  }

  /** @internal Compiles every recorded route; called at onReady. */
  [kCompileAll] (): void {
    for (const r of this.#routes) this.#policyOf(r)
    const dpop = this.#routes.find((r) => (r.policy as RoutePolicy).dpop !== null && !(r.policy as RoutePolicy).public)
    if (dpop !== undefined && !this.#handlesScheme('dpop')) {
      configError(`route ${dpop.method} ${dpop.url} sets config.auth.dpop, and no registered strategy reads the DPoP scheme; register the dpop plugin`)
    }
    for (const r of this.#routes) {
      const policy = r.policy as RoutePolicy
      const strategies = this[kResolveStrategies](policy, `${r.method} ${r.url}`)
      if (this.#model === literalModel && needsPermissions(policy) && strategies.every((s) => s.ownPermissions === false)) {
        configError(`route ${r.method} ${r.url} requires permissions, and no permission model is registered: the ${strategies.map((s) => s.name).join(' and ')} ${strategies.length === 1 ? 'strategy grants' : 'strategies grant'} permissions only through one, so every caller would get 403; register the rbac plugin (fastify-gatekeeper/rbac) with roles that grant them, or ask for scopes or roles instead`)
      }
    }
    for (const p of this.#hookPolicies) this[kResolveStrategies](p, 'authenticate()')
    this.#hookPolicies.length = 0
    this.#ready = true
  }

  /** @internal Records the routes Fastify's table held when the core was registered. */
  [kSetEarlyRoutes] (routes: readonly TableRoute[]): void {
    this.#early = Object.freeze([...routes])
  }

  /** @internal The routes registered before the core (from Fastify's route table). */
  [kEarlyRoutes] (): readonly TableRoute[] {
    return this.#early
  }

  /**
   * @internal The policy of a route the core never saw (registered before
   * the core), compiled at its first request. A config that does not
   * compile cannot fail the start-up any more: the route then refuses every
   * request (401, as a route with no way in) and the reason is logged once,
   * never sent.
   */
  [kLazyPolicy] (config: { readonly auth?: unknown }, method: string, url: string): RoutePolicy {
    let p = this.#lazy.get(config)
    if (p === undefined) {
      const where = `route ${method} ${url} (registered before the gatekeeper plugin)`
      try {
        p = this.#compile(config.auth, method, url)
        this[kResolveStrategies](p, where)
      } catch (err) {
        this.#logger.error({ route: `${method} ${url}`, code: (err as { code?: string }).code }, `gatekeeper: ${where} refuses every request: ${(err as Error).message}`)
        p = { ...compilePolicy(undefined, 'authenticated', where), resolved: [] }
      }
      this.#lazy.set(config, p)
    }
    return p
  }

  #policyOf (r: RouteEntry): RoutePolicy {
    if (r.policy === null) r.policy = this.#compile(r.auth, r.method, r.url)
    return r.policy
  }

  #compile (auth: unknown, method: string, url: string): RoutePolicy {
    let fallback = this.#defaultAuth
    for (const ext of this.#extensions) {
      const d = ext.defaultAuth?.(url, method)
      if (d !== undefined) fallback = d
    }
    const policy = compilePolicy(auth, fallback, `route ${method} ${url}`)
    for (const ext of this.#extensions) {
      const gates = ext.gates?.(url, method)
      if (gates !== undefined) policy.gates.push(...gates)
      const after = ext.afterAuthentication?.(url, method)
      if (after !== undefined) policy.after.push(...after)
    }
    // First of the steps: a caller of the wrong kind is refused before anything is recorded of its call.
    if (policy.kind !== null) policy.after.unshift(this.#kindCheck(policy.kind))
    policy.dpopRequired = !policy.public && (policy.dpop ?? this.#dpopPolicy) === 'required'
    // Before any other step: a caller who did not prove possession of a key is not let in at all.
    if (policy.dpopRequired) policy.after.unshift(this.#dpopCheck())
    return policy
  }

  /** `config.auth.kind`: the other kind of caller gets 403 (the core's onError hook adds the challenge). */
  #kindCheck (kind: 'user' | 'application'): AfterAuthentication {
    return (request) => {
      const auth = request.auth
      if (auth === null || auth.kind === kind) return
      this.audit.record({
        type: 'access.denied',
        outcome: 'failure',
        reason: 'GK_FORBIDDEN',
        route: `${request.method} ${request.routeOptions.url ?? request.url}`,
        requiredKind: kind,
        ...(auth.keyId === undefined ? {} : { keyId: auth.keyId })
      }, request)
      throw new errors.GK_FORBIDDEN()
    }
  }

  /**
   * A route that requires DPoP (RFC 9449 §7.1): a Bearer token, even one a
   * strategy accepted, or an API key is refused with the DPoP challenge alone.
   */
  #dpopCheck (): AfterAuthentication {
    return (request) => {
      const auth = request.auth
      if (auth === null || auth.confirmation !== undefined) return
      this.audit.record({
        type: 'access.denied',
        outcome: 'failure',
        reason: 'GK_TOKEN_INVALID',
        cause: 'dpop_required',
        route: `${request.method} ${request.routeOptions.url ?? request.url}`
      }, request)
      throw Object.assign(new errors.GK_TOKEN_INVALID(), { [kChallenge]: 'DPoP' })
    }
  }

  #handlesScheme (scheme: string): boolean {
    for (const s of this.#strategies.values()) if (schemesOf(s).some((x) => x.toLowerCase() === scheme)) return true
    return false
  }

  /** @internal Resolves a policy's strategy names into strategy objects. */
  [kResolveStrategies] (policy: RoutePolicy, where: string): Strategy[] {
    if (policy.resolved !== null) return policy.resolved
    const names = policy.strategies ?? [...this.#strategies.keys()]
    const resolved: Strategy[] = []
    for (const name of names) {
      const s = this.#strategies.get(name)
      if (s === undefined) {
        configError(`${where} names the strategy '${name}', which is not registered (registered: ${this.strategies().join(', ') || 'none'}); register its plugin or fix config.auth`)
      }
      resolved.push(s)
    }
    policy.resolved = resolved
    return resolved
  }

  /**
   * @internal Runs the gates and strategies of a policy and sets
   * `request.auth`. Throws the `GK_` error to send, with the
   * `WWW-Authenticate` header already set on the reply. Synchronous while
   * every strategy answers synchronously (a cached token or key): a promise
   * is returned only when one of them does.
   */
  [kRunAuthentication] (policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply): void | Promise<void> {
    for (const gate of policy.gates) gate(request, reply)
    if (policy.public) {
      for (const step of policy.after) step(request)
      return
    }
    const strategies = policy.resolved ?? this[kResolveStrategies](policy, `route ${request.method} ${request.url}`)
    const pending = this.#tryFrom(0, strategies, policy, request, reply)
    if (policy.after.length === 0) return pending
    if (pending === undefined) {
      this.#after(policy, request, reply)
      return
    }
    return pending.then(() => { this.#after(policy, request, reply) })
  }

  #after (policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply): void {
    try {
      for (const step of policy.after) step(request)
    } catch (err) {
      const own = (err as Record<symbol, unknown> | null)?.[kChallenge]
      if (typeof own === 'string') reply.header('www-authenticate', this.challenge(own, challengeErrorFor((err as { code?: string }).code)))
      throw err
    }
  }

  #tryFrom (start: number, strategies: Strategy[], policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply): void | Promise<void> {
    for (let i = start; i < strategies.length; i++) {
      const s = strategies[i] as Strategy
      let result: AuthContext | null | Promise<AuthContext | null>
      try {
        result = s.authenticate(request, reply)
      } catch (err) {
        this.#challengeFor(reply, s, err, policy, request)
        throw err
      }
      if (result !== null && typeof (result as Promise<unknown>).then === 'function') {
        return (result as Promise<AuthContext | null>).then(
          (ctx) => {
            if (ctx !== null) {
              request.auth = ctx
              return
            }
            return this.#tryFrom(i + 1, strategies, policy, request, reply)
          },
          (err: unknown) => {
            this.#challengeFor(reply, s, err, policy, request)
            throw err
          }
        )
      }
      if (result !== null) {
        request.auth = result as AuthContext
        return
      }
    }
    this.#noCredential(strategies, policy, request, reply)
  }

  #noCredential (strategies: Strategy[], policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply): void {
    // A credential of a scheme an accepted strategy reads (Bearer, DPoP) that
    // none claimed (a refresh token, a foreign token) is a bad credential, not
    // an absent one (RFC 6750 §3.1), and never makes an optional route anonymous.
    const used = authScheme(request.headers.authorization)
    const claimedBy = used === null ? undefined : strategies.find((s) => schemesOf(s).some((x) => x.toLowerCase() === used))
    if (claimedBy !== undefined) {
      const scheme = schemesOf(claimedBy).find((x) => x.toLowerCase() === used) as string
      // Only the schemes of the strategy that reads it (Bearer beside DPoP), as for any presented credential.
      reply.header('www-authenticate', this.#withOthers(this.challenge(scheme, 'invalid_token'), scheme, [claimedBy], policy))
      throw new errors.GK_TOKEN_INVALID()
    }
    if (policy.optional) return
    if (strategies.length === 0) {
      // Fail closed: a protected route with no way in refuses everybody.
      reply.header('www-authenticate', challenge('Bearer', this.realm))
      throw new errors.GK_UNAUTHORIZED()
    }
    reply.header('www-authenticate', this.#challengeOf(strategies, policy))
    throw new errors.GK_UNAUTHORIZED()
  }

  /**
   * One challenge per accepted scheme (every scheme of every strategy; DPoP
   * alone where the route requires it); built once per resolved strategy list.
   */
  #challengeOf (strategies: Strategy[], policy: RoutePolicy): string {
    if (policy.dpopRequired) return this.challenge('DPoP')
    let value = this.#challenges.get(strategies)
    if (value === undefined) {
      value = [...new Set(strategies.flatMap((s) => [s.scheme, ...schemesOf(s)]))].map((scheme) => this.challenge(scheme)).join(', ')
      this.#challenges.set(strategies, value)
    }
    return value
  }

  /** `first`, followed by plain challenges of the route's other schemes (RFC 9449 §7.1: `Bearer` beside `DPoP` where both are allowed). */
  #withOthers (first: string, scheme: string, strategies: Strategy[], policy: RoutePolicy): string {
    if (policy.dpopRequired) return first
    const others = [...new Set(strategies.flatMap((s) => [s.scheme, ...schemesOf(s)]))].filter((x) => x.toLowerCase() !== scheme.toLowerCase())
    return [first, ...others.map((x) => this.challenge(x))].join(', ')
  }

  #challengeFor (reply: FastifyReply, s: Strategy, err: unknown, policy: RoutePolicy, request: FastifyRequest): void {
    const code = (err as { code?: string } | null)?.code
    const status = (err as { statusCode?: number } | null)?.statusCode
    if (status !== 401 && status !== 400 && status !== 403) return
    // The scheme the credential came with, when this strategy reads it (a DPoP token's refusal names DPoP).
    const used = authScheme(request.headers.authorization)
    const own = (err as Record<symbol, unknown> | null)?.[kChallenge]
    const scheme = typeof own === 'string' ? own : schemesOf(s).find((x) => x.toLowerCase() === used) ?? s.scheme
    // A 403 from a strategy is a refused request (a failed CSRF check), not a scope problem: no error code.
    const first = typeof own === 'string' ? this.challenge(own, challengeErrorFor(code)) : this.challenge(scheme, status === 403 ? undefined : challengeErrorFor(code))
    reply.header('www-authenticate', status === 403 ? first : this.#withOthers(first, scheme, [s], policy))
  }

  /** @internal The preHandler half: roles, scopes, permissions, `anyOf` and ownership. */
  [kRunAuthorization] (policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply): void | Promise<void> {
    const auth = request.auth
    if (auth === null) {
      if (policy.optional) return
      reply.header('www-authenticate', challenge('Bearer', this.realm))
      throw new errors.GK_UNAUTHORIZED()
    }
    const withOwner = policy.owner !== null
    // Grants that hold only on the caller's own resources are checked last,
    // with the owner resolved once, and only when one is needed. Synchronous otherwise.
    let ownOnly: Record<string, unknown> | null = null
    const top = this.#meets(auth, policy, withOwner)
    if (top !== true) {
      if (!top.own) this.#deny(request, reply, top.detail)
      ownOnly = top.detail
    }
    if (policy.anyOf.length > 0) {
      let own: Record<string, unknown> | null = null
      const missing: Array<Record<string, unknown>> = []
      for (const alternative of policy.anyOf) {
        const m = this.#meets(auth, alternative, withOwner)
        if (m === true) {
          own = null
          missing.length = 0
          break
        }
        if (m.own) own ??= m.detail
        missing.push(m.detail)
      }
      if (missing.length > 0) {
        if (own === null) this.#deny(request, reply, { missingAnyOf: missing })
        ownOnly ??= own
      }
    }
    if (ownOnly !== null) return this.#requireOwnership(policy, request, reply, auth, ownOnly)
  }

  /**
   * Whether `auth` meets one set of requirements: `true`; or what is missing,
   * with `own` when only an `:own` grant is missing its ownership check.
   */
  #meets (auth: AuthContext, r: RouteRequirement, withOwner: boolean): true | { own: boolean, detail: Record<string, unknown> } {
    const model = this.#model
    if (r.roles.length > 0 && !r.roles.some((role) => model.hasRole?.(auth, role) ?? (Array.isArray(auth.roles) && auth.roles.includes(role)))) {
      return { own: false, detail: { missingRole: r.roles } }
    }
    let own: Record<string, unknown> | null = null
    if (r.scopes.length > 0) {
      // A credential that carries no scopes holds no scope: fail closed.
      if (!Array.isArray(auth.scopes)) return { own: false, detail: { missingScopes: r.scopes } }
      // Route scopes are matched by the model too, so wildcard scopes work;
      // the credential's scopes stand in for its permissions.
      const asScopes: AuthContext = { ...auth, permissions: auth.scopes }
      for (const scope of r.scopes) {
        const granted = model.grants(asScopes, scope)
        if (granted === true) continue
        if (granted === 'own' && withOwner) own ??= { missingScopes: [scope] }
        else return { own: false, detail: { missingScopes: [scope] } }
      }
    }
    for (const permission of r.permissions) {
      const granted = model.grants(auth, permission)
      if (granted === true) continue
      if (granted === 'own' && withOwner) own ??= { missingPermission: permission }
      else return { own: false, detail: { missingPermission: permission } }
    }
    return own === null ? true : { own: true, detail: own }
  }

  async #requireOwnership (policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply, auth: AuthContext, detail: Record<string, unknown>): Promise<void> {
    // The resolver's own error (a 404 for a missing resource) propagates.
    const id = await (policy.owner as NonNullable<RoutePolicy['owner']>)(request)
    // No owner (null, undefined, an empty id) is nobody's resource, whoever asks.
    if (!isOwner(id, auth.subject)) this.#deny(request, reply, detail)
  }

  #deny (request: FastifyRequest, reply: FastifyReply, detail: Record<string, unknown>): never {
    this.refuse(request, reply, detail)
  }

  /**
   * Refuses a request, as the core refuses one: an anonymous caller gets 401
   * `GK_UNAUTHORIZED` with a `Bearer` challenge; a signed-in one gets 403
   * `GK_FORBIDDEN`, recorded as an `access.denied` audit event (with
   * `detail`, such as `{ missingPermission }`) and challenged with the scheme
   * of the credential it presented (`insufficient_scope`, RFC 6750 §3.1).
   * For checks a plugin makes in its own handlers.
   */
  refuse (request: FastifyRequest, reply: FastifyReply, detail: Record<string, unknown> = {}): never {
    if (request.auth === null) {
      reply.header('www-authenticate', challenge('Bearer', this.realm))
      throw new errors.GK_UNAUTHORIZED()
    }
    this.audit.record({
      type: 'access.denied',
      outcome: 'failure',
      reason: 'GK_FORBIDDEN',
      route: `${request.method} ${request.routeOptions.url ?? request.url}`,
      ...detail
    }, request)
    // The scheme of the credential that was presented (RFC 6750 §3, RFC 9110 §11.6.1).
    reply.header('www-authenticate', this.challengeFor(request.auth, 'insufficient_scope'))
    throw new errors.GK_FORBIDDEN()
  }

  /** `request.can(permission, ownerId?)`. */
  can (auth: AuthContext | null, permission: string, ownerId?: string | null): boolean {
    if (auth === null) return false
    const g = this.#model.grants(auth, permission)
    if (g === true) return true
    return g === 'own' && isOwner(ownerId, auth.subject)
  }
}

/** Whether `ownerId` names `subject`: an absent or empty id owns nothing. */
function isOwner (ownerId: unknown, subject: string): boolean {
  if (ownerId === null || ownerId === undefined) return false
  const id = String(ownerId)
  return id.length > 0 && id === subject
}

/** The `Authorization` schemes a strategy reads. */
function schemesOf (s: Strategy): readonly string[] {
  return s.schemes ?? [s.scheme]
}

export { kChallenge }

/** Whether every way through the policy asks for a permission (scopes or roles alone need no permission model). */
function needsPermissions (policy: RoutePolicy): boolean {
  if (policy.public) return false
  if (policy.permissions.length > 0) return true
  return policy.anyOf.length > 0 && policy.anyOf.every((alt) => alt.permissions.length > 0)
}
