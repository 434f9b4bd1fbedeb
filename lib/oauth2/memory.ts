import { errors } from '../core/errors.js'
import type { ClientPatch, ClientRecord, ClientRepository, IdentityRecord, IdentityRepository } from './types.js'

function copy (c: ClientRecord): ClientRecord {
  return {
    ...c,
    scopes: [...c.scopes],
    createdAt: new Date(c.createdAt),
    revokedAt: c.revokedAt === null ? null : new Date(c.revokedAt),
    previousSecretExpiresAt: c.previousSecretExpiresAt === null ? null : new Date(c.previousSecretExpiresAt)
  }
}

/**
 * The default {@link ClientRepository}: clients in a `Map`, lost on restart.
 * Good for tests and single-process demos; give the plugin a persistent
 * repository in production.
 */
export function memoryClients (): ClientRepository {
  const clients = new Map<string, ClientRecord>()
  return {
    async create (client) {
      if (clients.has(client.id)) throw new errors.GK_CONFLICT('client id taken')
      clients.set(client.id, copy(client))
      return copy(client)
    },
    async findById (id) {
      const c = clients.get(id)
      return c === undefined ? null : copy(c)
    },
    async update (id, patch: ClientPatch) {
      const c = clients.get(id)
      if (c === undefined) return null
      const next = copy({ ...c, ...patch })
      clients.set(id, next)
      return copy(next)
    },
    async list () {
      return [...clients.values()].map(copy)
    }
  }
}

/**
 * The default {@link IdentityRepository}: links in a `Map`, lost on restart.
 * Good for tests and demos; give the plugin a persistent repository in production.
 */
export function memoryIdentities (): IdentityRepository {
  const links = new Map<string, IdentityRecord>()
  const key = (issuer: string, subject: string): string => JSON.stringify([issuer, subject])
  const copy = (r: IdentityRecord): IdentityRecord => ({ ...r, createdAt: new Date(r.createdAt) })
  return {
    async create (identity) {
      const k = key(identity.issuer, identity.subject)
      if (links.has(k)) throw new errors.GK_CONFLICT('identity already linked')
      links.set(k, copy(identity))
      return copy(identity)
    },
    async find (issuer, subject) {
      const r = links.get(key(issuer, subject))
      return r === undefined ? null : copy(r)
    },
    async listByUser (userId) {
      return [...links.values()].filter((r) => r.userId === userId).map(copy)
    }
  }
}
