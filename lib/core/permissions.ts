import type { AuthContext } from './types.js'

/**
 * How permissions are granted. The core ships a literal model (exact names
 * and `'*'`); the rbac plugin replaces it with its compiled role graph.
 */
export interface PermissionModel {
  /** The flattened permissions that `roles` grant. */
  permissionsOf (roles: readonly string[]): readonly string[]
  /**
   * Whether `auth` holds `permission`: `true` outright, `'own'` only on
   * resources the caller owns (a `:own` grant), `false` not at all.
   * When the credential carries scopes the answer also respects them (an
   * application: its scopes ∩ its owner's grants); an application that
   * carries none holds no scope, and is granted nothing.
   */
  grants (auth: AuthContext, permission: string): boolean | 'own'
  /**
   * Whether `auth` has `role`, directly or by inheritance (route
   * `config.auth.roles`). Optional: without it a role must be listed in
   * `auth.roles` itself.
   */
  hasRole? (auth: AuthContext, role: string): boolean
}

function literal (granted: readonly string[], permission: string): boolean | 'own' {
  if (!Array.isArray(granted)) return false
  if (granted.includes('*') || granted.includes(permission)) return true
  if (granted.includes(`${permission}:own`)) return 'own'
  return false
}

/** The model in force until the rbac plugin is registered. */
export const literalModel: PermissionModel = {
  permissionsOf: () => [],
  grants (auth, permission) {
    const byRoles = literal(auth.permissions, permission)
    if (byRoles === false || (auth.scopes === undefined && auth.kind !== 'application')) return byRoles
    // An application that carries no scopes holds none: fail closed.
    const byScopes = literal(auth.scopes ?? [], permission)
    if (byScopes === false) return false
    return byRoles === true && byScopes === true ? true : 'own'
  }
}
