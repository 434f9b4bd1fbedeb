export { rbac, type RbacApi, type RbacOptions, type RoleInfo } from './plugin.js'
export { compileRoles, type CompiledRole, type RoleDefinition, type RoleGraph, type RolesConfig } from './compile.js'
export { RbacModel } from './model.js'
export { canonical, coveringKeys, grantProblem, parseGrant, type Grant } from './permission.js'
