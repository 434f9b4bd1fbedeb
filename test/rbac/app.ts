import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { errors } from '../../lib/core/errors.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuthContext, GatekeeperOptions } from '../../lib/core/types.js'
import { rbac, type RbacOptions } from '../../lib/rbac/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'

/** The roles most tests use. */
export const ROLES: RbacOptions['roles'] = {
  admin: { inherits: ['editor'], permissions: ['*'] },
  editor: { inherits: ['user'], permissions: ['posts:*'] },
  user: { permissions: ['posts:read', 'posts:update:own', 'posts:delete:own', 'comments:create'] },
  viewer: { permissions: ['posts:read'] },
  auditor: { permissions: ['*:read'] }
}

/**
 * A fake Bearer strategy: `Authorization: Bearer <subject>|<role,role>[|<scope,scope>]`
 * stands for a verified token (with scopes: an application's key). `Bearer bad`
 * is a present but invalid credential. Roles come only from this credential.
 */
export function testStrategy (app: FastifyInstance) {
  return {
    name: 'test',
    scheme: 'Bearer',
    authenticate (request: FastifyRequest): AuthContext | null {
      const h = request.headers.authorization
      if (typeof h !== 'string' || !h.startsWith('Bearer ')) return null
      const value = h.slice(7)
      if (value === 'bad') throw new errors.GK_TOKEN_INVALID()
      const [subject = '', roles = '', scopes] = value.split('|')
      const roleList = roles === '' ? [] : roles.split(',')
      return {
        strategy: 'test',
        kind: scopes === undefined ? 'user' : 'application',
        subject,
        roles: roleList,
        permissions: app.gatekeeper.permissionsOf(roleList),
        ...(scopes === undefined ? {} : { scopes: scopes === '' ? [] : scopes.split(',') })
      }
    }
  }
}

/** Headers of a caller: a user with roles, or an application (when `scopes` is given). */
export function as (subject: string, roles: string[], scopes?: string[]): Record<string, string> {
  return { authorization: `Bearer ${subject}|${roles.join(',')}${scopes === undefined ? '' : `|${scopes.join(',')}`}` }
}

/** An app with the core (memory store), the test strategy and rbac registered. */
export async function rbacApp (opts: Partial<RbacOptions> = {}, core: Partial<GatekeeperOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), ...core })
  app.gatekeeper.registerStrategy(testStrategy(app))
  await app.register(rbac, { roles: ROLES, ...opts })
  return app
}
