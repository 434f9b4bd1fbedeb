import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GatekeeperStore } from '../stores/types.js'
import type { AuditEvent } from './events.js'

/** The strategies shipped with the library; plugins may register others. */
export const STRATEGIES = ['jwt', 'apiKey'] as const
/** A strategy name shipped with the library. */
export type BuiltinStrategy = typeof STRATEGIES[number]
/** A strategy name: a built-in one or any registered by a plugin. */
export type StrategyName = BuiltinStrategy | (string & {})

/**
 * Extra claims of your users. Merge into it to type `request.auth.claims`:
 * `declare module 'fastify-gatekeeper' { interface GatekeeperUser { tenant: string } }`
 */
export interface GatekeeperUser {}

/** Who is calling, as established by a strategy. */
export interface AuthContext {
  /** The strategy that let the caller in. */
  strategy: StrategyName
  /** A person (`'user'`) or a program (`'application'`). */
  kind: 'user' | 'application'
  /** The user id (for an API key: its owner's id). */
  subject: string
  roles: readonly string[]
  /** The permissions granted by `roles` (filled when the rbac plugin is registered). */
  permissions: readonly string[]
  /**
   * The scopes the credential carries (API keys, client-credentials tokens).
   * A credential without them holds no scope: it passes no route `scopes`
   * requirement, and an application without them is granted no permission.
   */
  scopes?: readonly string[]
  /** The access token's `jti`. */
  tokenId?: string
  /** The API key's id. */
  keyId?: string
  /** The authorization server that issued the token, for tokens of another issuer (the resourceServer strategy). */
  issuer?: string
  /** The OAuth client that obtained the token, when the token says. */
  clientId?: string
  /**
   * The `Authorization` auth-scheme the credential came with (`'Bearer'`,
   * `'DPoP'`), when it came in that header.
   */
  scheme?: string
  /**
   * The key the credential is bound to (RFC 7800 `cnf`), set when the caller
   * proved possession of it: `jkt` is its RFC 7638 SHA-256 thumbprint (DPoP, RFC 9449).
   */
  confirmation?: { readonly jkt: string }
  /** The verified token claims. */
  claims?: Record<string, unknown> & Partial<GatekeeperUser>
}

/**
 * A way in. `authenticate` returns the caller, `null` when no credential of
 * its kind is present, and throws a `GK_` error when one is present but bad
 * (the next strategy is then not tried).
 */
export interface Strategy {
  name: StrategyName
  /** The RFC 7235 auth-scheme named in `WWW-Authenticate` challenges (`'Bearer'`, `'ApiKey'`). */
  scheme: string
  /**
   * Every `Authorization` auth-scheme this strategy reads (default: `[scheme]`):
   * the jwt and resourceServer strategies read `['Bearer', 'DPoP']` once the
   * dpop plugin is registered. A challenge names each of them; a credential
   * of one of them that no strategy of the route claims is an invalid token.
   */
  schemes?: readonly string[]
  authenticate (request: FastifyRequest, reply: FastifyReply): AuthContext | null | Promise<AuthContext | null>
  /**
   * OpenAPI security schemes this strategy accepts, by scheme name
   * (`{ bearerAuth: { type: 'http', scheme: 'bearer' } }`); any one of them
   * satisfies it. Used by `gatekeeperOpenApi()`.
   */
  securitySchemes?: Record<string, Record<string, unknown>>
  /**
   * The kinds of caller this strategy can authenticate (default: both). The
   * apiKey strategy authenticates applications only, so routes for people
   * (`config.auth.kind: 'user'`) do not list it in the OpenAPI document.
   */
  kinds?: ReadonlyArray<AuthContext['kind']>
  /**
   * Whether the credentials this strategy authenticates can carry
   * permissions of their own (an issuer's `permissions` claim), besides those
   * the permission model grants to roles. Default `true`. The jwt and apiKey
   * strategies, whose permissions come only from the model, say `false`: a
   * route that requires permissions, reached only through such strategies
   * while no permission model is registered (no rbac plugin), could never let
   * anyone in, and refuses to start.
   */
  ownPermissions?: boolean
}

/** Resolves the owner id of the resource a request targets (for `:own` grants). */
export type OwnerResolver = (request: FastifyRequest) => string | null | undefined | Promise<string | null | undefined>

/**
 * One alternative of `config.auth.anyOf`: every requirement it names must
 * hold. It names at least one; lists are non-empty.
 */
export interface RouteAuthRequirement {
  /** Any-of: the caller must have one of these roles. */
  roles?: readonly string[]
  /** All-of: the caller must hold every one of these permissions. */
  permissions?: readonly string[]
  /** All-of: the credential must carry every one of these scopes (a credential without scopes holds none). */
  scopes?: readonly string[]
}

/** The detailed form of `config.auth`. */
export interface RouteAuthOptions {
  /** Strategies any of which may let the caller in; default: the core's `defaultAuth`. */
  strategies?: StrategyName | readonly StrategyName[]
  /** Any-of: the caller must have one of these roles. */
  roles?: readonly string[]
  /** All-of: the caller must hold every one of these permissions. */
  permissions?: readonly string[]
  /**
   * All-of: the credential must carry every one of these scopes. People's
   * sessions carry none, so a route with `scopes` admits applications only;
   * use `anyOf` to admit people by permission as well.
   */
  scopes?: readonly string[]
  /**
   * Alternatives, at least one of which must hold in full (on top of
   * `roles`, `permissions` and `scopes` above, which always apply):
   * `anyOf: [{ permissions: ['reports:write'] }, { scopes: ['reports:write'] }]`
   * admits people holding the permission and applications carrying the scope.
   */
  anyOf?: readonly RouteAuthRequirement[]
  /** Resolves the owner of the target resource; needed for `:own` grants. */
  owner?: OwnerResolver
  /** Let anonymous callers through (with `request.auth === null`); a bad credential still fails. */
  optional?: boolean
  /**
   * Only this kind of caller passes: `'user'` (a person) or `'application'`;
   * the other kind gets 403 `GK_FORBIDDEN` right after authentication.
   */
  kind?: AuthContext['kind']
  /**
   * DPoP (RFC 9449) on this route: `'required'` lets in only callers that
   * prove possession of their token's key (Bearer tokens and API keys are
   * refused), `'allowed'` takes both; default: the dpop plugin's `policy`.
   * Needs the dpop plugin.
   */
  dpop?: 'required' | 'allowed'
}

/** Route config `config.auth`: `false` (public), a strategy, a list of strategies, or the detailed form. */
export type RouteAuthConfig = false | StrategyName | readonly StrategyName[] | RouteAuthOptions

/** What a route without `config.auth` gets. */
export type DefaultAuth = 'authenticated' | 'public' | StrategyName[]

export type { AuditEvent, AuditEventBase, AuditEvents, AuditEventType, Anomaly, GatekeeperEventMap } from './events.js'

/** Options of the `audit` part of the core. */
export interface AuditOptions {
  /** Log each event at `info` under the `event` field (default `true`). */
  log?: boolean
  /**
   * Called for every event. May be async; its failures are logged and never
   * fail the request. At most `maxPending` calls are in flight; past that,
   * events are dropped (and counted).
   */
  onEvent?: (event: AuditEvent) => void | Promise<void>
  /** Bound on in-flight `onEvent` calls (default 1000). */
  maxPending?: number
}

/**
 * Options of the `gatekeeper` plugin: the core's, and those of the features
 * it wires (`rateLimit`, `bruteForce`, `redis`), merged in by declaration.
 */
export interface GatekeeperOptions {
  /** The storage adapter all plugins share. */
  store: GatekeeperStore
  /** What a route without `config.auth` requires (default `'authenticated'`: any registered strategy). */
  defaultAuth?: DefaultAuth
  /** Refuse to start while a route lacks an explicit `config.auth`. */
  strict?: boolean
  /** The realm named in `WWW-Authenticate` challenges (default `'api'`). */
  realm?: string
  audit?: AuditOptions
  // `rateLimit` and `bruteForce` (lib/protection) and `redis` (lib/redis) are merged in by their features.
  /** A clock, for tests (default `Date.now`). */
  now?: () => number
}

/** One alternative of a route's `anyOf`, as `app.gatekeeper.routes()` describes it (absent lists are empty). */
export interface RouteRequirement {
  roles: readonly string[]
  permissions: readonly string[]
  scopes: readonly string[]
}

/** One row of `app.gatekeeper.routes()`. */
export interface RouteProtection {
  method: string
  url: string
  public: boolean
  /** `null`: any registered strategy. */
  strategies: readonly string[] | null
  roles: readonly string[]
  permissions: readonly string[]
  scopes: readonly string[]
  /** Alternatives of which one must hold in full; empty when the route has none. */
  anyOf: readonly RouteRequirement[]
  owner: boolean
  optional: boolean
  /** The only kind of caller let in, or `null` for both. */
  kind: AuthContext['kind'] | null
  /** `'required'`: only DPoP-bound callers; `'allowed'`: DPoP or not; `null`: the dpop plugin's policy (or no DPoP). */
  dpop: 'required' | 'allowed' | null
  /** Whether `config.auth` was written on the route (rather than defaulted). */
  explicit: boolean
  /**
   * `true` for a route registered before the core plugin: the core never
   * saw its config, so its `config.auth` is read at its first request and
   * could not be checked at start-up; the other fields are then unknown
   * (shown empty). Register the core before any route.
   */
  early: boolean
}
