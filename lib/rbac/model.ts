import type { PermissionModel } from '../core/permissions.js'
import type { AuthContext } from '../core/types.js'
import type { CompiledRole, RoleGraph } from './compile.js'
import { BoundedCache, compileGrants, intersect, Matcher, matchKeys } from './match.js'

/** What a set of roles amounts to. */
interface RoleSet {
  /** The flattened grants, canonical, unique, sorted and frozen. */
  readonly permissions: readonly string[]
  /** The roles and every role they inherit. */
  readonly expanded: readonly string[]
  readonly has: ReadonlySet<string>
}

const EMPTY: RoleSet = Object.freeze({ permissions: Object.freeze([]), expanded: Object.freeze([]), has: new Set<string>() })

/**
 * The rbac permission model: answers from a compiled role graph with a
 * bounded memo per role set, so a request costs a few set lookups.
 * Roles a graph does not define grant nothing.
 */
export class RbacModel implements PermissionModel {
  readonly #graph: RoleGraph
  readonly #memo: BoundedCache<RoleSet>
  readonly #matcher: Matcher

  constructor (graph: RoleGraph, cacheSize: number) {
    this.#graph = graph
    this.#memo = new BoundedCache(cacheSize)
    this.#matcher = new Matcher(cacheSize)
  }

  #roleSet (roles: readonly string[]): RoleSet {
    if (!Array.isArray(roles)) return EMPTY
    let key: string
    if (roles.length === 1) {
      const only: unknown = roles[0]
      if (typeof only !== 'string' || !this.#graph.has(only)) return EMPTY
      key = only
    } else {
      const known: string[] = []
      for (const r of roles) if (typeof r === 'string' && this.#graph.has(r) && !known.includes(r)) known.push(r)
      if (known.length === 0) return EMPTY
      // Role names cannot contain '\n' (compile.ts), so the key is unambiguous;
      // only defined roles make keys, so callers cannot flood the memo.
      key = known.sort().join('\n')
    }
    let set = this.#memo.get(key)
    if (set === undefined) {
      set = this.#build(key.split('\n'))
      this.#memo.set(key, set)
    }
    return set
  }

  #build (known: readonly string[]): RoleSet {
    const expanded = new Set<string>()
    const permissions = new Set<string>()
    for (const name of known) {
      const role = this.#graph.get(name) as CompiledRole
      expanded.add(name)
      for (const a of role.ancestors) expanded.add(a)
      for (const p of role.effective) permissions.add(p)
    }
    const list = Object.freeze([...permissions].sort())
    this.#matcher.remember(list, compileGrants(list))
    return Object.freeze({ permissions: list, expanded: Object.freeze([...expanded]), has: expanded })
  }

  /** The flattened grants of `roles`; the same frozen array for the same set of roles. */
  permissionsOf (roles: readonly string[]): readonly string[] {
    return this.#roleSet(roles).permissions
  }

  /** `roles` with every role they inherit, directly or not. */
  expand (roles: readonly string[]): readonly string[] {
    return this.#roleSet(roles).expanded
  }

  /**
   * Whether `auth` holds `permission`. Decided on `auth.permissions` (which
   * strategies fill with `permissionsOf(roles)`); when `auth.scopes` is set
   * (an application), the scopes must grant it too. An application without
   * `scopes` holds no scope and is granted nothing.
   */
  grants (auth: AuthContext, permission: string): boolean | 'own' {
    const keys = this.#matcher.keysOf(permission)
    if (!Array.isArray(auth.permissions)) return false
    const byOwner = matchKeys(this.#matcher.setOf(auth.permissions), keys)
    if (byOwner === false || (auth.scopes === undefined && auth.kind !== 'application')) return byOwner
    if (!Array.isArray(auth.scopes)) return false
    return intersect(byOwner, matchKeys(this.#matcher.setOf(auth.scopes), keys))
  }

  /** Whether `auth` has `role`, directly or by inheritance. */
  hasRole (auth: AuthContext, role: string): boolean {
    return this.#roleSet(auth.roles).has.has(role)
  }

  /** Whether a granted list covers `permission`: `true`, `'own'` or `false`. */
  check (granted: readonly string[], permission: string): boolean | 'own' {
    return this.#matcher.check(granted, permission)
  }

  /** How many role sets are memoized (bounded by `cacheSize`). */
  get memoized (): number {
    return this.#memo.size
  }
}
