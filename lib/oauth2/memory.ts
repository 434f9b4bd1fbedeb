import { errors } from '../core/errors.js'
import type { ClientPatch, ClientRecord, ClientRepository } from './types.js'

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
