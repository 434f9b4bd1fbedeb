import type { Gatekeeper } from '../core/gatekeeper.js'
import type { MfaFactorRepository, RecoveryCodeRepository } from '../stores/types.js'
import type { NormalizedMfaOptions } from './options.js'
import { canonicalRecoveryCode, hashRecoveryCode } from './recovery.js'
import { matchingStep } from './totp.js'
import type { SecondFactor } from './types.js'

/** The TOTP factor (RFC 6238): `code` in the body, `otp` in `amr`. */
export function totpFactor (gk: Gatekeeper, repo: MfaFactorRepository, o: NormalizedMfaOptions): SecondFactor {
  const confirmed = async (userId: string) => (await repo.listByUser(userId)).filter((f) => f.kind === 'totp' && f.confirmedAt !== null)
  return {
    name: 'totp',
    field: 'code',
    primary: true,
    enrolled: async (userId) => (await confirmed(userId)).length > 0,
    async verify (user, answer, { now }) {
      if (typeof answer !== 'string') return null
      const code = answer.replace(/\s/g, '')
      for (const f of await confirmed(user.id)) {
        const secret = o.sealer.open(f.secret, user.id)
        if (secret === null) {
          // A key removed from encryptionKeys too early, or an altered row: the factor cannot be used.
          gk.record({ type: 'mfa.unreadable', outcome: 'failure', reason: 'sealed_secret', subject: user.id, userId: user.id, factorId: f.id })
          continue
        }
        const step = matchingStep(secret, code, now, o.totpWindow)
        // A step at or before the last one accepted is a replay: refused by the store, atomically.
        if (step !== null && await repo.acceptStep(f.id, step, new Date(now))) return { amr: ['otp'] }
      }
      return null
    },
    async describe (userId) {
      const f = (await confirmed(userId))[0]
      return f === undefined ? null : { id: f.id, name: f.name, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt }
    },
    reset: (userId) => repo.deleteForUser(userId, ['totp'])
  }
}

/** Recovery codes: `recoveryCode` in the body; each works once and counts as a one-time password (`otp`). */
export function recoveryFactor (gk: Gatekeeper, repo: RecoveryCodeRepository): SecondFactor {
  return {
    name: 'recovery',
    field: 'recoveryCode',
    primary: false,
    enrolled: async (userId) => await repo.remaining(userId) > 0,
    async verify (user, answer, { now, request }) {
      if (typeof answer !== 'string') return null
      const canonical = canonicalRecoveryCode(answer)
      if (canonical === null || !await repo.consume(user.id, hashRecoveryCode(canonical), new Date(now))) return null
      const remaining = await repo.remaining(user.id)
      gk.record({ type: 'mfa.recovery_code_used', outcome: 'info', subject: user.id, userId: user.id, remaining }, request)
      return { amr: ['otp'] }
    },
    describe: async (userId) => ({ remaining: await repo.remaining(userId) }),
    async reset (userId) {
      const n = await repo.remaining(userId)
      await repo.replace(userId, [])
      return n
    }
  }
}
