/**
 * The permission syntax: `resource:action`, `resource:action:own`, and `*`
 * as a whole segment or alone. Parsing is plain string splitting over a
 * fixed character class, so no pattern is built from input (no ReDoS).
 */

/** The wildcard: a whole segment, or the whole permission. */
export const WILDCARD = '*'
/** The suffix of a grant that applies only to resources the caller owns. */
export const OWN = 'own'
/** The longest permission string accepted. */
export const MAX_PERMISSION_LENGTH = 128

/** A parsed grant: `key` is its canonical `resource:action` (or `*`, or a bare token); `own` marks a `:own` grant. */
export interface Grant {
  readonly key: string
  readonly own: boolean
}

/** True when `c` may appear in a resource or action name: letters, digits, `_`, `-`, `.`. */
function nameChar (c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2e
}

/** True for a resource or action name (not the wildcard). */
export function isName (segment: string): boolean {
  if (segment.length === 0) return false
  for (let i = 0; i < segment.length; i++) if (!nameChar(segment.charCodeAt(i))) return false
  return true
}

function isSegment (segment: string): boolean {
  return segment === WILDCARD || isName(segment)
}

function keyOf (resource: string, action: string): string {
  return resource === WILDCARD && action === WILDCARD ? WILDCARD : `${resource}:${action}`
}

/**
 * Explains why `permission` is not a valid grant in a role definition, or
 * returns `null` when it is. Grants are `*`, `resource:action` or
 * `resource:action:own`, each segment a name or `*`.
 */
export function grantProblem (permission: unknown): string | null {
  if (typeof permission !== 'string') return 'a permission must be a string'
  if (permission.length === 0) return 'a permission must not be empty'
  if (permission.length > MAX_PERMISSION_LENGTH) return `a permission must be at most ${MAX_PERMISSION_LENGTH} characters`
  if (permission === WILDCARD) return null
  const parts = permission.split(':')
  if (parts.length === 1) return "write 'resource:action' (for example 'posts:read'), or '*' for everything"
  if (parts.length > 3) return "a permission has at most three segments: 'resource:action:own'"
  if (parts.length === 3 && parts[2] !== OWN) return `the third segment may only be ':own', not ':${parts[2]}'`
  const [resource, action] = parts
  if (!isSegment(resource) || !isSegment(action)) {
    return "each segment is '*' or a name of letters, digits, '_', '-' and '.' (partial wildcards like 'post*' are not supported)"
  }
  if (parts.length === 2 && action === OWN) return `'${permission}' is ambiguous: write '${resource}:*:own' for every action on owned ${resource}`
  return null
}

/**
 * Parses a grant as it appears in a granted list (role permissions, or an
 * application's scopes). A bare token such as `read` is accepted as a
 * literal scope that only an exact request (or `*`) matches. Returns `null`
 * for anything malformed, which then grants nothing.
 */
export function parseGrant (permission: string): Grant | null {
  if (typeof permission !== 'string' || permission.length === 0 || permission.length > MAX_PERMISSION_LENGTH) return null
  if (permission === WILDCARD) return { key: WILDCARD, own: false }
  const parts = permission.split(':')
  if (parts.length === 1) return isName(permission) ? { key: permission, own: false } : null
  if (grantProblem(permission) !== null) return null
  return { key: keyOf(parts[0], parts[1]), own: parts.length === 3 }
}

/** The canonical spelling of a grant (`*:*` is `*`; the own-everything grant is `*:*:own`). */
export function canonical (grant: Grant): string {
  if (!grant.own) return grant.key
  return `${grant.key === WILDCARD ? '*:*' : grant.key}:${OWN}`
}

/**
 * The grant keys that cover a requested permission: for `posts:update`,
 * `posts:update`, `posts:*`, `*:update` and `*`. A bare token is covered by
 * itself and `*`. `null` for a request that is malformed (including one
 * that ends in `:own`: ownership is decided by the route, not the request).
 */
export function coveringKeys (permission: string): readonly string[] | null {
  if (typeof permission !== 'string' || permission.length === 0 || permission.length > MAX_PERMISSION_LENGTH) return null
  if (permission === WILDCARD) return [WILDCARD]
  const parts = permission.split(':')
  if (parts.length === 1) return isName(permission) ? [permission, WILDCARD] : null
  if (parts.length !== 2) return null
  const [resource, action] = parts
  if (!isSegment(resource) || !isSegment(action)) return null
  const keys = new Set([keyOf(resource, action), keyOf(resource, WILDCARD), keyOf(WILDCARD, action), WILDCARD])
  return [...keys]
}

/**
 * Explains why `permission` cannot be required by a route, or `null` when
 * it can: routes require `resource:action` (segments may be `*`) or `*`.
 */
export function requirementProblem (permission: string, allowToken: boolean): string | null {
  if (coveringKeys(permission) !== null && (allowToken || permission === WILDCARD || permission.includes(':'))) return null
  if (permission.endsWith(`:${OWN}`)) {
    return `'${permission}': a route requires the action ('${permission.slice(0, -OWN.length - 1)}') and gives an owner resolver; ':own' belongs in role grants`
  }
  return `'${permission}' is not 'resource:action' (for example 'posts:read') or '*'`
}
