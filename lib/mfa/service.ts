import QRCode from 'qrcode'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { MfaFactorRepository, RecoveryCodeRepository } from '../stores/types.js'
import type { MfaFlow } from './flow.js'
import type { NormalizedMfaOptions } from './options.js'
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT, canonicalRecoveryCode } from './recovery.js'
import { matchingStep, newTotpSecret, totpUri } from './totp.js'
import type { MfaApi, SecondFactor, TotpEnrolment } from './types.js'

/** Builds `app.gatekeeper.mfa`. */
export function mfaService (gk: Gatekeeper, flow: MfaFlow, o: NormalizedMfaOptions, issuer: string, repos: { factors: MfaFactorRepository, codes: RecoveryCodeRepository }): MfaApi & { markReady: () => void } {
  const { factors, codes } = repos
  let ready = false

  async function newCodes (userId: string): Promise<string[]> {
    const list = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
    await codes.replace(userId, list.map((c) => hashRecoveryCode(canonicalRecoveryCode(c) ?? c)))
    return list
  }

  async function user (userId: string) {
    const u = await gk.store.users.findById(userId)
    if (u === null) throw new errors.GK_NOT_FOUND('user')
    return u
  }

  const api: MfaApi = {
    addFactor (factor: SecondFactor) {
      if (ready) throw new errors.GK_CONFIG('mfa: factors must be added before the app is ready')
      if (factor === null || typeof factor !== 'object' || typeof factor.name !== 'string' || typeof factor.field !== 'string' || typeof factor.verify !== 'function' || typeof factor.enrolled !== 'function') {
        throw new errors.GK_CONFIG('mfa: addFactor takes { name, field, primary, enrolled, verify, begin?, describe?, reset? }')
      }
      if (flow.factors.some((f) => f.name === factor.name || f.field === factor.field) || factor.field === 'challenge') throw new errors.GK_CONFIG(`mfa: a factor named '${factor.name}' or reading '${factor.field}' is already added`)
      flow.factors.push(factor)
    },
    async enrolledFactors (userId) {
      return (await flow.enrolled(userId)).factors.map((f) => f.name)
    },
    async enrolTotp (userId, request) {
      const u = await user(userId)
      const existing = await factors.listByUser(userId)
      if (existing.some((f) => f.kind === 'totp' && f.confirmedAt !== null)) throw new errors.GK_CONFLICT('a TOTP authenticator is already set up; remove it first')
      for (const f of existing) if (f.kind === 'totp') await factors.delete(f.id)
      const secret = newTotpSecret()
      const factor = await factors.create({ userId, kind: 'totp', secret: o.sealer.seal(secret, userId), name: 'authenticator' })
      const uri = totpUri(secret, issuer, u.username)
      const qrCode = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 1 })
      gk.record({ type: 'mfa.enrolment_started', outcome: 'info', subject: userId, userId, factor: 'totp', factorId: factor.id }, request)
      const enrolment: TotpEnrolment = { id: factor.id, uri, qrCode }
      return enrolment
    },
    async confirmTotp (userId, code, request) {
      const pending = (await factors.listByUser(userId)).filter((f) => f.kind === 'totp' && f.confirmedAt === null).at(-1)
      if (pending === undefined) throw new errors.GK_NOT_FOUND('no TOTP enrolment is pending')
      const secret = o.sealer.open(pending.secret, userId)
      const now = gk.now()
      const step = secret === null ? null : matchingStep(secret, code.replace(/\s/g, ''), now, o.totpWindow)
      if (step === null || !await factors.acceptStep(pending.id, step, new Date(now), true)) {
        gk.record({ type: 'mfa.failure', outcome: 'failure', reason: 'GK_INVALID_CREDENTIALS', cause: 'enrolment_code', factor: 'totp', subject: userId, userId }, request)
        return null
      }
      gk.record({ type: 'mfa.enrolled', outcome: 'success', subject: userId, userId, factor: 'totp', factorId: pending.id }, request)
      if (await codes.remaining(userId) > 0) return []
      const list = await newCodes(userId)
      gk.record({ type: 'mfa.recovery_codes_generated', outcome: 'success', subject: userId, userId, count: list.length }, request)
      return list
    },
    async disableTotp (userId, request) {
      const n = await factors.deleteForUser(userId, ['totp'])
      if (n === 0) return false
      // Recovery codes stand in for a primary factor: with none left, they go too.
      if (!(await flow.enrolled(userId)).required) await codes.replace(userId, [])
      gk.record({ type: 'mfa.disabled', outcome: 'success', subject: userId, userId, factor: 'totp' }, request)
      return true
    },
    async regenerateRecoveryCodes (userId, request) {
      if (!(await flow.enrolled(userId)).required) throw new errors.GK_CONFLICT('recovery codes need a second factor set up first')
      const list = await newCodes(userId)
      gk.record({ type: 'mfa.recovery_codes_generated', outcome: 'success', subject: userId, userId, count: list.length }, request)
      return list
    },
    async resetFactors (userId, request) {
      const removed: Record<string, number> = {}
      for (const f of flow.factors) if (f.reset !== undefined) removed[f.name] = await f.reset(userId)
      gk.record({ type: 'mfa.reset', outcome: 'success', subject: userId, userId, removed }, request)
    }
  }
  return Object.assign(api, { markReady: () => { ready = true } })
}
