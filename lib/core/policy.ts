import type { FastifyReply, FastifyRequest } from 'fastify'
import { configError } from './errors.js'
import type { DefaultAuth, OwnerResolver, RouteAuthConfig, RouteProtection, Strategy } from './types.js'

/**
 * A check that runs before authentication (for example the versioning
 * plugin's sunset gate). It may set headers and may throw a `GK_` error.
 */
export type Gate = (request: FastifyRequest, reply: FastifyReply) => void

/**
 * A step that runs once a request is let in (authenticated, or anonymous on
 * a public or optional route), in the same hook, before authorization. It
 * must not throw, except with a `GK_` error that refuses the request (the
 * core's `config.auth.kind` check does).
 */
export type AfterAuthentication = (request: FastifyRequest) => void

/** A route's compiled protection: decided once, when the route is added. */
export interface RoutePolicy {
  readonly public: boolean
  /** `null`: any registered strategy. */
  readonly strategies: readonly string[] | null
  readonly roles: readonly string[]
  readonly permissions: readonly string[]
  readonly scopes: readonly string[]
  readonly owner: OwnerResolver | null
  readonly optional: boolean
  /** The only kind of caller let in (`config.auth.kind`), or `null`. */
  readonly kind: 'user' | 'application' | null
  readonly explicit: boolean
  /** Checks run before authentication, in order. */
  readonly gates: Gate[]
  /** Steps run once the request is let in, in order. */
  readonly after: AfterAuthentication[]
  /** Whether the preHandler has anything to check. */
  readonly needsAuthorization: boolean
  /** The strategy objects, resolved on first use (strategies may register after routes). */
  resolved: Strategy[] | null
}

const KEYS = new Set(['strategies', 'roles', 'permissions', 'scopes', 'owner', 'optional', 'kind'])

function stringList (value: unknown, where: string, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    configError(`${where}: ${what} must be an array of non-empty strings`)
  }
  return [...new Set(value as string[])]
}

/**
 * Compiles `config.auth` of one route. `fallback` is what the route gets when
 * `config.auth` is absent (the core's `defaultAuth`, or a version's `auth`).
 * Throws GK_CONFIG naming the route when the config is malformed.
 */
export function compilePolicy (auth: unknown, fallback: DefaultAuth, where: string): RoutePolicy {
  const explicit = auth !== undefined
  let strategies: readonly string[] | null = null
  let roles: string[] = []
  let permissions: string[] = []
  let scopes: string[] = []
  let owner: OwnerResolver | null = null
  let optional = false
  let kind: RoutePolicy['kind'] = null
  let isPublic = false

  if (auth === undefined) {
    if (fallback === 'public') isPublic = true
    else if (Array.isArray(fallback)) strategies = [...fallback]
  } else if (auth === false) {
    isPublic = true
  } else if (typeof auth === 'string') {
    if (auth.length === 0) configError(`${where}: config.auth must not be an empty string`)
    strategies = [auth]
  } else if (Array.isArray(auth)) {
    strategies = stringList(auth, where, 'config.auth')
    if (strategies.length === 0) configError(`${where}: config.auth must list at least one strategy (use false for a public route)`)
  } else if (typeof auth === 'object' && auth !== null) {
    const o = auth as Record<string, unknown>
    for (const k of Object.keys(o)) {
      if (!KEYS.has(k)) configError(`${where}: unknown key config.auth.${k} (allowed: ${[...KEYS].join(', ')})`)
    }
    if (o.strategies !== undefined) {
      strategies = typeof o.strategies === 'string' ? [o.strategies] : stringList(o.strategies, where, 'config.auth.strategies')
      if (strategies.length === 0) configError(`${where}: config.auth.strategies must not be empty`)
    } else if (Array.isArray(fallback)) {
      strategies = [...fallback]
    }
    if (o.roles !== undefined) roles = stringList(o.roles, where, 'config.auth.roles')
    if (o.permissions !== undefined) permissions = stringList(o.permissions, where, 'config.auth.permissions')
    if (o.scopes !== undefined) scopes = stringList(o.scopes, where, 'config.auth.scopes')
    if (o.owner !== undefined) {
      if (typeof o.owner !== 'function') configError(`${where}: config.auth.owner must be a function (request) => ownerId`)
      owner = o.owner as OwnerResolver
    }
    if (o.optional !== undefined) {
      if (typeof o.optional !== 'boolean') configError(`${where}: config.auth.optional must be a boolean`)
      optional = o.optional
    }
    if (o.kind !== undefined) {
      if (o.kind !== 'user' && o.kind !== 'application') configError(`${where}: config.auth.kind must be 'user' or 'application'`)
      kind = o.kind
    }
  } else {
    configError(`${where}: config.auth must be false, a strategy name, an array of names or an object`)
  }

  return {
    public: isPublic,
    strategies,
    roles,
    permissions,
    scopes,
    owner,
    optional,
    kind,
    explicit,
    gates: [],
    after: [],
    needsAuthorization: roles.length > 0 || permissions.length > 0 || scopes.length > 0,
    resolved: null
  }
}

/** The public description of a compiled policy. */
export function describe (method: string, url: string, p: RoutePolicy): RouteProtection {
  return {
    method,
    url,
    public: p.public,
    strategies: p.strategies,
    roles: p.roles,
    permissions: p.permissions,
    scopes: p.scopes,
    owner: p.owner !== null,
    optional: p.optional,
    kind: p.kind,
    explicit: p.explicit
  }
}

/** Validates the core's `defaultAuth` option. */
export function parseDefaultAuth (value: unknown): DefaultAuth {
  if (value === undefined) return 'authenticated'
  if (value === 'authenticated' || value === 'public') return value
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0)) return [...value]
  return configError("defaultAuth must be 'authenticated', 'public' or a non-empty array of strategy names")
}

export type { RouteAuthConfig }
