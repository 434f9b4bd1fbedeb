import { configError } from '../core/errors.js'
import { stringsOf } from '../core/json.js'
import { canonical, grantProblem, isName, parseGrant } from './permission.js'

/** One role of the `roles` option. */
export interface RoleDefinition {
  /** Roles whose permissions this role also has. */
  inherits?: readonly string[]
  /** Grants: `resource:action`, `resource:action:own`, `*` per segment or alone. */
  permissions?: readonly string[]
}

/** The `roles` option: role name → definition. */
export type RolesConfig = Record<string, RoleDefinition>

/** A role after compilation. */
export interface CompiledRole {
  readonly name: string
  /** The roles it inherits directly. */
  readonly inherits: readonly string[]
  /** Its own grants, canonical. */
  readonly permissions: readonly string[]
  /** Every role it inherits, directly or through others. */
  readonly ancestors: readonly string[]
  /** Its grants and those of every ancestor: canonical, unique, sorted. */
  readonly effective: readonly string[]
}

/** The compiled role graph, in definition order. */
export type RoleGraph = ReadonlyMap<string, CompiledRole>

const ROLE_KEYS = new Set(['inherits', 'permissions'])
/** The longest role name accepted. */
export const MAX_ROLE_LENGTH = 64

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** True for a valid role name: 1-64 letters, digits, `_`, `-`, `.`. */
export function isRoleName (name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_ROLE_LENGTH && isName(name)
}

function stringArray (value: unknown, where: string): string[] {
  if (!Array.isArray(value)) configError(`${where} must be an array of strings`)
  for (const v of value) if (typeof v !== 'string') configError(`${where} must be an array of strings, found ${JSON.stringify(v)}`)
  return stringsOf(value)
}

interface Raw { inherits: string[], permissions: string[] }

function readRoles (roles: unknown): Map<string, Raw> {
  if (!isPlainObject(roles)) configError("rbac: 'roles' is required: { name: { inherits?: string[], permissions?: string[] } }")
  const names = Object.keys(roles)
  if (names.length === 0) configError("rbac: 'roles' must define at least one role")
  const raw = new Map<string, Raw>()
  for (const name of names) {
    if (!isRoleName(name)) configError(`rbac: role name ${JSON.stringify(name)} must be 1-${MAX_ROLE_LENGTH} letters, digits, '_', '-' or '.'`)
    const def = roles[name]
    if (!isPlainObject(def)) configError(`rbac: role '${name}' must be an object { inherits?, permissions? }`)
    for (const k of Object.keys(def)) {
      if (!ROLE_KEYS.has(k)) configError(`rbac: role '${name}' has an unknown key '${k}' (allowed: inherits, permissions)`)
    }
    const inherits = def.inherits === undefined ? [] : stringArray(def.inherits, `rbac: roles.${name}.inherits`)
    const permissions = def.permissions === undefined ? [] : stringArray(def.permissions, `rbac: roles.${name}.permissions`)
    for (const p of permissions) {
      const problem = grantProblem(p)
      if (problem !== null) configError(`rbac: role '${name}' has a malformed permission ${JSON.stringify(p)}: ${problem}`)
    }
    raw.set(name, { inherits: [...new Set(inherits)], permissions })
  }
  for (const [name, r] of raw) {
    for (const parent of r.inherits) {
      if (!raw.has(parent)) configError(`rbac: role '${name}' inherits '${parent}', which is not defined (defined: ${[...raw.keys()].join(', ')})`)
    }
  }
  return raw
}

/** Throws GK_CONFIG naming the first inheritance cycle, as a path `a -> b -> a`. */
function checkCycles (raw: ReadonlyMap<string, Raw>): void {
  const done = new Set<string>()
  const path: string[] = []
  const onPath = new Set<string>()
  const visit = (name: string): void => {
    if (done.has(name)) return
    if (onPath.has(name)) {
      const cycle = [...path.slice(path.indexOf(name)), name]
      configError(`rbac: roles inherit in a cycle: ${cycle.join(' -> ')}; remove one of these inherits`)
    }
    onPath.add(name)
    path.push(name)
    // Every inherited role was checked to be defined (readRoles).
    for (const parent of raw.get(name)?.inherits ?? []) visit(parent)
    path.pop()
    onPath.delete(name)
    done.add(name)
  }
  for (const name of raw.keys()) visit(name)
}

/**
 * Compiles the `roles` option into a flattened graph. Throws GK_CONFIG
 * naming the culprit for a malformed role or permission, an unknown
 * inherited role, or an inheritance cycle.
 */
export function compileRoles (roles: unknown): RoleGraph {
  const raw = readRoles(roles)
  checkCycles(raw)
  const graph = new Map<string, CompiledRole>()
  const build = (name: string): CompiledRole => {
    const done = graph.get(name)
    if (done !== undefined) return done
    const r = raw.get(name) ?? { inherits: [], permissions: [] }
    // Every permission was checked to parse (readRoles).
    const own = r.permissions.flatMap((p) => { const g = parseGrant(p); return g === null ? [] : [canonical(g)] })
    const ancestors = new Set<string>()
    const effective = new Set(own)
    for (const parent of r.inherits) {
      const p = build(parent)
      ancestors.add(parent)
      for (const a of p.ancestors) ancestors.add(a)
      for (const e of p.effective) effective.add(e)
    }
    const role: CompiledRole = Object.freeze({
      name,
      inherits: Object.freeze([...r.inherits]),
      permissions: Object.freeze([...new Set(own)]),
      ancestors: Object.freeze([...ancestors]),
      effective: Object.freeze([...effective].sort())
    })
    graph.set(name, role)
    return role
  }
  // Keep definition order for roles().
  return new Map([...raw.keys()].map((n) => [n, build(n)]))
}
