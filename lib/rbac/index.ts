export { rbac, type RbacApi, type RbacOptions, type RoleInfo } from './plugin.js'
export type { RoleDefinition, RolesConfig } from './compile.js'

/** The rbac plugin, as the default export: `app.register(import('fastify-gatekeeper/rbac'), options)`. */
export { rbac as default } from './plugin.js'
