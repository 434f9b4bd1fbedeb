export { rbac, type RbacApi, type RbacOptions, type RoleInfo } from './plugin.js'
export { compileRoles, type CompiledRole, type RoleDefinition, type RoleGraph, type RolesConfig } from './compile.js'
export { RbacModel } from './model.js'
export { canonical, coveringKeys, grantProblem, parseGrant, type Grant } from './permission.js'

/** The rbac plugin, as the default export: `app.register(import('fastify-gatekeeper/rbac'), options)`. */
export { rbac as default } from './plugin.js'
