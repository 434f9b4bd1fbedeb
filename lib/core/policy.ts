import type { FastifyReply, FastifyRequest } from 'fastify'
import { configError } from './errors.js'
import type { DefaultAuth, OwnerResolver, RouteAuthConfig, RouteProtection, RouteRequirement, Strategy } from './types.js'

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
  /** Alternatives of which at least one must hold in full (besides the requirements above); empty: none asked. */
  readonly anyOf: readonly RouteRequirement[]
  readonly owner: OwnerResolver | null
  readonly optional: boolean
  /** The only kind of caller let in (`config.auth.kind`), or `null`. */
  readonly kind: 'user' | 'application' | null
  /** `config.auth.dpop`, or `null` for the dpop plugin's policy. */
  readonly dpop: 'required' | 'allowed' | null
  /** Whether only DPoP-bound callers pass (the route's `dpop`, else the plugin's policy); set when the app is ready. */
  dpopRequired: boolean
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

const KEYS = new Set(['strategies', 'roles', 'permissions', 'scopes', 'anyOf', 'owner', 'optional', 'kind', 'dpop'])
const REQUIREMENT_KEYS = ['roles', 'permissions', 'scopes'] as const

function stringList (value: unknown, where: string, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    configError(`${where}: ${what} must be an array of non-empty strings`)
  }
  return [...new Set(value as string[])]
}

/**
 * A requirement list as written on a route. An empty list is refused: it
 * would ask for nothing (or, for `roles`, any of none), which is never what
 * a route that writes the key means; omit the key instead.
 */
function requirementList (value: unknown, where: string, what: string): string[] {
  const list = stringList(value, where, what)
  if (list.length === 0) configError(`${where}: ${what} must not be empty (omit it when the route asks for none)`)
  return list
}

/** One alternative of `config.auth.anyOf`: roles (any of), permissions and scopes (all of); at least one of them. */
function requirement (value: unknown, where: string, what: string): RouteRequirement {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${where}: ${what} must be an object { roles?, permissions?, scopes? }`)
  const o = value as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!(REQUIREMENT_KEYS as readonly string[]).includes(k)) configError(`${where}: unknown key ${what}.${k} (allowed: ${REQUIREMENT_KEYS.join(', ')}; strategies, owner and optional belong to config.auth itself)`)
  }
  const r = {
    roles: o.roles === undefined ? [] : requirementList(o.roles, where, `${what}.roles`),
    permissions: o.permissions === undefined ? [] : requirementList(o.permissions, where, `${what}.permissions`),
    scopes: o.scopes === undefined ? [] : requirementList(o.scopes, where, `${what}.scopes`)
  }
  // An alternative that asks for nothing would let every authenticated caller in.
  if (r.roles.length + r.permissions.length + r.scopes.length === 0) configError(`${where}: ${what} must name roles, permissions or scopes`)
  return Object.freeze(r)
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
  let anyOf: RouteRequirement[] = []
  let owner: OwnerResolver | null = null
  let optional = false
  let kind: RoutePolicy['kind'] = null
  let dpop: RoutePolicy['dpop'] = null
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
    if (o.roles !== undefined) roles = requirementList(o.roles, where, 'config.auth.roles')
    if (o.permissions !== undefined) permissions = requirementList(o.permissions, where, 'config.auth.permissions')
    if (o.scopes !== undefined) scopes = requirementList(o.scopes, where, 'config.auth.scopes')
    if (o.anyOf !== undefined) {
      if (!Array.isArray(o.anyOf) || o.anyOf.length === 0) configError(`${where}: config.auth.anyOf must be a non-empty array of { roles?, permissions?, scopes? }`)
      anyOf = o.anyOf.map((r, i) => requirement(r, where, `config.auth.anyOf[${i}]`))
    }
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
    if (o.dpop !== undefined) {
      if (o.dpop !== 'required' && o.dpop !== 'allowed') configError(`${where}: config.auth.dpop must be 'required' or 'allowed'`)
      dpop = o.dpop
    }
  } else {
    configError(`${where}: config.auth must be false, a strategy name, an array of names or an object`)
  }
  const asks = roles.length > 0 || permissions.length > 0 || scopes.length > 0 || anyOf.length > 0
  // An anonymous caller would pass where a signed-in one lacking the grant is refused.
  if (optional && asks) configError(`${where}: config.auth.optional cannot be combined with roles, permissions, scopes or anyOf (an anonymous caller would pass them); check with request.can() in the handler instead`)
  // The resolver only decides ':own' grants; on its own it would restrict nothing.
  if (owner !== null && permissions.length === 0 && scopes.length === 0 && !anyOf.some((r) => r.permissions.length > 0 || r.scopes.length > 0)) {
    configError(`${where}: config.auth.owner decides ':own' grants of permissions or scopes, and the route asks for none; add the permission it guards (for example permissions: ['posts:update'])`)
  }

  return {
    public: isPublic,
    strategies,
    roles,
    permissions,
    scopes,
    anyOf,
    owner,
    optional,
    kind,
    dpop,
    dpopRequired: dpop === 'required',
    explicit,
    gates: [],
    after: [],
    needsAuthorization: asks,
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
    anyOf: p.anyOf,
    owner: p.owner !== null,
    optional: p.optional,
    kind: p.kind,
    dpop: p.dpop,
    explicit: p.explicit,
    early: false
  }
}

/**
 * The description of a route registered before the core: its config was
 * never seen, so nothing is known of its protection but that it is checked
 * at its first request (the other fields are empty).
 */
export function describeEarly (method: string, url: string): RouteProtection {
  return {
    method,
    url,
    public: false,
    strategies: null,
    roles: [],
    permissions: [],
    scopes: [],
    anyOf: [],
    owner: false,
    optional: false,
    kind: null,
    dpop: null,
    explicit: false,
    early: true
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
