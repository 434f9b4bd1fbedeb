import { randomUUID } from 'node:crypto'
import { errors } from '../../core/errors.js'
import type { AccountTokenRecord, AccountTokenRepository } from '../types.js'

/** The account-token repository of `memoryStore()`: atomic because JavaScript runs each method without interleaving. */
export function memoryAccountTokens (): AccountTokenRepository {
  const byHash = new Map<string, AccountTokenRecord>()
  const copy = (r: AccountTokenRecord): AccountTokenRecord => ({
    ...r, createdAt: new Date(r.createdAt), expiresAt: new Date(r.expiresAt), consumedAt: r.consumedAt && new Date(r.consumedAt)
  })
  return {
    async create (input) {
      if (byHash.has(input.hash)) throw new errors.GK_CONFLICT('account token already exists')
      if (input.kind !== 'email_revert') {
        // One live token per user and kind: the newer mail's link replaces the older one's.
        for (const [h, r] of byHash) if (r.userId === input.userId && r.kind === input.kind && r.consumedAt === null) byHash.delete(h)
      }
      const record: AccountTokenRecord = {
        id: input.id ?? randomUUID(),
        hash: input.hash,
        userId: input.userId,
        kind: input.kind,
        email: input.email ?? null,
        createdAt: new Date(),
        expiresAt: new Date(input.expiresAt),
        consumedAt: null
      }
      byHash.set(record.hash, record)
      return copy(record)
    },
    async findByHash (hash) {
      const r = byHash.get(hash)
      return r === undefined ? null : copy(r)
    },
    async consume (hash, kind, now) {
      const r = byHash.get(hash)
      if (r === undefined || r.kind !== kind || r.consumedAt !== null || r.expiresAt.getTime() <= now.getTime()) return null
      r.consumedAt = new Date(now)
      return copy(r)
    },
    async revokeForUser (userId, kinds) {
      let n = 0
      for (const [h, r] of byHash) {
        if (r.userId === userId && r.consumedAt === null && kinds.includes(r.kind)) {
          byHash.delete(h)
          n++
        }
      }
      return n
    },
    async deleteExpired (now) {
      let n = 0
      for (const [h, r] of byHash) {
        if (r.expiresAt.getTime() <= now.getTime()) {
          byHash.delete(h)
          n++
        }
      }
      return n
    }
  }
}
