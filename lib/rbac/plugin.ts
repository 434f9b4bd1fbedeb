import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { configError } from '../core/errors.js'
import { declareService } from '../core/services.js'
import { compileRoles, type CompiledRole, type RolesConfig } from './compile.js'
import { RbacModel } from './model.js'
import { requirementProblem } from './permission.js'
import { requirePlugins } from '../core/requires.js'

/** Options of the `rbac` plugin. */
export interface RbacOptions {
  /** Role name → `{ inherits?, permissions? }`; compiled at registration. */
  roles: RolesConfig
  /** How many role sets (and requested permissions) are memoized (default 1000). */
  cacheSize?: number
}

/** A defined role as `app.gatekeeper.rbac.role(name)` describes it. */
export type RoleInfo = CompiledRole

/** `app.gatekeeper.rbac`: the compiled role graph. */
export interface RbacApi {
  /** The flattened permissions `roles` grant; unknown roles grant nothing. */
  permissionsOf (roles: readonly string[]): readonly string[]
  /** The names of the defined roles, in definition order. */
  roles (): string[]
  /** A defined role: its direct inherits and grants, its ancestors and all it grants. */
  role (name: string): RoleInfo | undefined
  /** `roles` with every role they inherit, directly or not; unknown roles are dropped. */
  expand (roles: readonly string[]): readonly string[]
  /** Whether a granted list covers `permission`: `true`, `'own'` (a `:own` grant) or `false`. */
  check (granted: readonly string[], permission: string): boolean | 'own'
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** The role graph; set by the `rbac` plugin. */
    readonly rbac: RbacApi
  }
}

declareService('rbac', 'rbac')

const OPTION_KEYS = new Set(['roles', 'cacheSize'])
const DEFAULT_CACHE_SIZE = 1000

function validate (opts: RbacOptions): Readonly<Required<RbacOptions>> {
  if (opts === null || typeof opts !== 'object') configError("rbac: options must be an object with 'roles'")
  for (const k of Object.keys(opts)) {
    if (!OPTION_KEYS.has(k)) configError(`rbac: unknown option '${k}' (allowed: ${[...OPTION_KEYS].join(', ')})`)
  }
  const cacheSize = opts.cacheSize ?? DEFAULT_CACHE_SIZE
  if (!Number.isInteger(cacheSize) || cacheSize < 1 || cacheSize > 1_000_000) configError('rbac: cacheSize must be an integer from 1 to 1000000')
  return Object.freeze({ roles: opts.roles, cacheSize })
}

/** Throws GK_CONFIG for a route that names an undefined role or a malformed permission or scope. */
function checkRoutes (app: FastifyInstance, defined: ReadonlySet<string>): void {
  for (const route of app.gatekeeper.routes()) {
    const base = `rbac: route ${route.method} ${route.url}`
    for (const [i, r] of [route, ...route.anyOf].entries()) {
      const key = i === 0 ? 'config.auth' : `config.auth.anyOf[${i - 1}]`
      for (const role of r.roles) {
        if (!defined.has(role)) configError(`${base}${i === 0 ? '' : ` in ${key}`} requires role '${role}', which is not defined (defined: ${[...defined].join(', ')})`)
      }
      for (const p of r.permissions) {
        const problem = requirementProblem(p, false)
        if (problem !== null) configError(`${base}: ${key}.permissions: ${problem}`)
      }
      for (const s of r.scopes) {
        const problem = requirementProblem(s, true)
        if (problem !== null) configError(`${base}: ${key}.scopes: ${problem}`)
      }
    }
  }
}

async function rbacPlugin (app: FastifyInstance, opts: RbacOptions): Promise<void> {
  requirePlugins(app, 'rbac', ['gatekeeper'])
  const options = validate(opts)
  const graph = compileRoles(options.roles)
  if (app.gatekeeper.has('rbac')) configError('rbac: the plugin is already registered; register it once, after gatekeeper')
  const model = new RbacModel(graph, options.cacheSize)
  const defined = new Set(graph.keys())

  app.gatekeeper.setPermissionModel(model)
  app.gatekeeper.provide('rbac', Object.freeze({
    permissionsOf: (roles: readonly string[]) => model.permissionsOf(roles),
    roles: () => [...defined],
    role: (name: string) => graph.get(name),
    expand: (roles: readonly string[]) => model.expand(roles),
    check: (granted: readonly string[], permission: string) => model.check(granted, permission)
  }))

  // Typos in route config fail at start-up instead of denying everybody.
  app.addHook('onReady', async function rbacCheckRoutes () {
    checkRoutes(app, defined)
  })
}

/**
 * Roles with inheritance, wildcard permissions and ownership checks.
 * Register after `gatekeeper`:
 * `app.register(rbac, { roles: { admin: { inherits: ['editor'], permissions: ['*'] } } })`.
 */
export const rbac = fp(rbacPlugin, { fastify: '5.x', name: 'gatekeeper-rbac' })
