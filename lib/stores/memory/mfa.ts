import { randomUUID } from 'node:crypto'
import { errors } from '../../core/errors.js'
import type {
  ChallengeRecord, ChallengeRepository, MfaFactorRecord, MfaFactorRepository, RecoveryCodeRepository,
  WebAuthnCredentialRecord, WebAuthnCredentialRepository
} from '../types.js'

const copyDate = (d: Date | null): Date | null => d === null ? null : new Date(d)

/**
 * The `mfa` plugin's repositories of `memoryStore()`: atomic because
 * JavaScript runs each method without interleaving.
 */
export function memoryMfa (): {
  mfaFactors: MfaFactorRepository
  recoveryCodes: RecoveryCodeRepository
  webauthnCredentials: WebAuthnCredentialRepository
  challenges: ChallengeRepository
} {
  const factors = new Map<string, MfaFactorRecord>()
  const copyFactor = (f: MfaFactorRecord): MfaFactorRecord => ({
    ...f, createdAt: new Date(f.createdAt), confirmedAt: copyDate(f.confirmedAt), lastUsedAt: copyDate(f.lastUsedAt)
  })
  const mfaFactors: MfaFactorRepository = {
    async create (input) {
      const id = input.id ?? randomUUID()
      if (factors.has(id)) throw new errors.GK_CONFLICT('factor already exists')
      const f: MfaFactorRecord = {
        id, userId: input.userId, kind: input.kind, secret: input.secret, name: input.name ?? '', confirmedAt: null, lastStep: null, createdAt: new Date(), lastUsedAt: null
      }
      factors.set(id, f)
      return copyFactor(f)
    },
    async findById (id) {
      const f = factors.get(id)
      return f === undefined ? null : copyFactor(f)
    },
    async listByUser (userId) {
      return [...factors.values()].filter((f) => f.userId === userId).map(copyFactor)
    },
    async acceptStep (id, step, at, confirm = false) {
      const f = factors.get(id)
      if (f === undefined || (f.confirmedAt === null && !confirm)) return false
      if (f.lastStep !== null && step <= f.lastStep) return false
      f.lastStep = step
      f.lastUsedAt = new Date(at)
      if (f.confirmedAt === null) f.confirmedAt = new Date(at)
      return true
    },
    async delete (id) {
      return factors.delete(id)
    },
    async deleteForUser (userId, kinds) {
      let n = 0
      for (const [id, f] of factors) {
        if (f.userId === userId && (kinds === undefined || kinds.includes(f.kind))) {
          factors.delete(id)
          n++
        }
      }
      return n
    }
  }

  // userId → hash → used
  const codes = new Map<string, Map<string, boolean>>()
  const recoveryCodes: RecoveryCodeRepository = {
    async replace (userId, hashes) {
      if (hashes.length === 0) codes.delete(userId)
      else codes.set(userId, new Map(hashes.map((h) => [h, false])))
    },
    async consume (userId, hash) {
      const set = codes.get(userId)
      if (set === undefined || set.get(hash) !== false) return false
      set.set(hash, true)
      return true
    },
    async remaining (userId) {
      let n = 0
      for (const used of codes.get(userId)?.values() ?? []) if (!used) n++
      return n
    }
  }

  const creds = new Map<string, WebAuthnCredentialRecord>()
  const copyCred = (c: WebAuthnCredentialRecord): WebAuthnCredentialRecord => ({
    ...c, transports: [...c.transports], createdAt: new Date(c.createdAt), lastUsedAt: copyDate(c.lastUsedAt)
  })
  const webauthnCredentials: WebAuthnCredentialRepository = {
    async create (input) {
      if (creds.has(input.id)) throw new errors.GK_CONFLICT('credential already registered')
      const c: WebAuthnCredentialRecord = {
        id: input.id,
        userId: input.userId,
        publicKey: input.publicKey,
        counter: input.counter,
        transports: [...(input.transports ?? [])],
        backupEligible: input.backupEligible,
        backedUp: input.backedUp,
        name: input.name,
        createdAt: new Date(),
        lastUsedAt: null
      }
      creds.set(c.id, c)
      return copyCred(c)
    },
    async findById (id) {
      const c = creds.get(id)
      return c === undefined ? null : copyCred(c)
    },
    async listByUser (userId) {
      return [...creds.values()].filter((c) => c.userId === userId).map(copyCred)
    },
    async updateCounter (id, counter, at, backedUp) {
      const c = creds.get(id)
      if (c === undefined) return 'unknown'
      if (!(counter > c.counter || (counter === 0 && c.counter === 0))) return 'regressed'
      c.counter = counter
      c.backedUp = backedUp
      c.lastUsedAt = new Date(at)
      return 'ok'
    },
    async rename (id, userId, name) {
      const c = creds.get(id)
      if (c === undefined || c.userId !== userId) return false
      c.name = name
      return true
    },
    async delete (id, userId) {
      const c = creds.get(id)
      if (c === undefined || c.userId !== userId) return false
      return creds.delete(id)
    },
    async deleteForUser (userId) {
      let n = 0
      for (const [id, c] of creds) {
        if (c.userId === userId) {
          creds.delete(id)
          n++
        }
      }
      return n
    }
  }

  const byHash = new Map<string, ChallengeRecord>()
  const copyChallenge = (c: ChallengeRecord): ChallengeRecord => ({
    ...c, data: structuredClone(c.data), createdAt: new Date(c.createdAt), expiresAt: new Date(c.expiresAt), consumedAt: copyDate(c.consumedAt)
  })
  const live = (hash: string, kind: string, now: Date): ChallengeRecord | null => {
    const c = byHash.get(hash)
    return c === undefined || c.kind !== kind || c.consumedAt !== null || c.expiresAt.getTime() <= now.getTime() ? null : c
  }
  const challenges: ChallengeRepository = {
    async create (input) {
      if (byHash.has(input.hash)) throw new errors.GK_CONFLICT('challenge already exists')
      const c: ChallengeRecord = {
        id: input.id ?? randomUUID(),
        hash: input.hash,
        kind: input.kind,
        userId: input.userId ?? null,
        data: structuredClone(input.data ?? {}),
        attempts: 0,
        createdAt: new Date(),
        expiresAt: new Date(input.expiresAt),
        consumedAt: null
      }
      byHash.set(c.hash, c)
      return copyChallenge(c)
    },
    async find (hash, kind, now) {
      const c = live(hash, kind, now)
      return c === null ? null : copyChallenge(c)
    },
    async consume (hash, kind, now) {
      const c = live(hash, kind, now)
      if (c === null) return null
      c.consumedAt = new Date(now)
      return copyChallenge(c)
    },
    async fail (hash, kind, now, maxAttempts) {
      const c = live(hash, kind, now)
      if (c === null) return null
      c.attempts++
      if (c.attempts >= maxAttempts) c.consumedAt = new Date(now)
      return Math.max(0, maxAttempts - c.attempts)
    },
    async deleteExpired (now) {
      let n = 0
      for (const [h, c] of byHash) {
        if (c.expiresAt.getTime() <= now.getTime()) {
          byHash.delete(h)
          n++
        }
      }
      return n
    }
  }

  return { mfaFactors, recoveryCodes, webauthnCredentials, challenges }
}
