import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { PublicUser } from '../jwt/types.js'
import { publicUser } from '../jwt/users.js'
import { requireAuthentication } from '../mfa/step-up.js'
import { CeremonyFailure, type Ceremonies } from './ceremonies.js'
import type { NormalizedPasskeysOptions } from './options.js'
import type { PasskeyPort, PasskeyRecord } from './port.js'

/** A passkey as its owner sees it: never the public key or the counter. */
export interface PasskeyView {
  id: string
  name: string
  /** Whether the passkey can be synced to the owner's other devices. */
  backupEligible: boolean
  backedUp: boolean
  transports: string[]
  createdAt: Date
  lastUsedAt: Date | null
}

/** The owner's view of a stored passkey. */
export function view (p: PasskeyRecord): PasskeyView {
  return { id: p.id, name: p.name, backupEligible: p.backupEligible, backedUp: p.backedUp, transports: p.transports, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt }
}

/** `app.gatekeeper.passkeys`: a user's passkeys, for your own routes and admin tools. */
export interface PasskeysApi {
  /** The user's passkeys, oldest first. */
  list (userId: string): Promise<PasskeyView[]>
  /** Renames one of the user's passkeys; `null` when the user has none with this id. */
  rename (userId: string, id: string, name: string): Promise<PasskeyView | null>
  /** Removes one of the user's passkeys; `false` when the user has none with this id. */
  remove (userId: string, id: string): Promise<boolean>
}

/** RFC 8176 methods of a passkey login: a hardware-held key, the user present, and verified (PIN or biometrics) so two factors. */
export const PASSKEY_AMR = Object.freeze(['hwk', 'user', 'mfa'])

/** Everything the routes and the second-factor verifier share. */
export interface PasskeysContext {
  gk: Gatekeeper
  o: NormalizedPasskeysOptions
  port: PasskeyPort
  ceremonies: Ceremonies
  api: PasskeysApi
  /** Runs a registration step; a refused ceremony becomes 400 (409 for too many passkeys), audited. */
  attempt<T> (request: FastifyRequest, fn: () => Promise<T>): Promise<T>
  /** Verifies an assertion; any refusal is audited and becomes 401 `GK_INVALID_CREDENTIALS`, a cloned key also an anomaly. */
  assert (request: FastifyRequest, step: 'login' | 'mfa', handle: string, binding: string, response: AuthenticationResponseJSON, userId?: string): Promise<{ user: PublicUser, credential: PasskeyRecord, amr: string[] }>
  /** Audits a refused assertion (`login.failure` or, for a second step, `passkey.refused`); a cloned key is also an `anomaly`. */
  refused (request: FastifyRequest, step: 'login' | 'mfa', err: CeremonyFailure): void
  /** Refuses (401 `GK_INSUFFICIENT_AUTHENTICATION`, RFC 9470 challenge with `max_age`) a caller whose login (`auth_time`) is older than `recentLogin`. */
  requireRecentLogin (request: FastifyRequest): void
}

/** Builds the context of the plugin. */
export function passkeysContext (gk: Gatekeeper, o: NormalizedPasskeysOptions, port: PasskeyPort, ceremonies: Ceremonies): PasskeysContext {
  const api: PasskeysApi = {
    list: async (userId) => (await port.credentials.listByUser(userId)).map(view),
    async rename (userId, id, name) {
      if (!await port.credentials.rename(id, userId, name)) return null
      const p = await port.credentials.findById(id)
      return p === null ? null : view(p)
    },
    remove: async (userId, id) => await port.credentials.delete(id, userId)
  }

  return {
    gk,
    o,
    port,
    ceremonies,
    api,
    async attempt (request, fn) {
      try {
        return await fn()
      } catch (err) {
        if (!(err instanceof CeremonyFailure)) throw err
        gk.record({ type: 'passkey.registration_failure', outcome: 'failure', reason: err.reason === 'too_many' ? 'GK_CONFLICT' : 'GK_INVALID_REQUEST', cause: err.reason, userId: err.userId }, request)
        if (err.reason === 'too_many') throw new errors.GK_CONFLICT(`at most ${o.maxPerUser} passkeys per user`)
        throw new errors.GK_INVALID_REQUEST('passkey registration failed')
      }
    },
    async assert (request, step, handle, binding, response, userId) {
      try {
        const { credential } = await ceremonies.authenticate(handle, binding, response, userId ?? null)
        const user = await gk.store.users.findById(credential.userId)
        if (user === null || user.disabled) throw new CeremonyFailure('unknown_credential', credential.id, credential.userId)
        return { user: publicUser(user), credential, amr: [...PASSKEY_AMR] }
      } catch (err) {
        if (!(err instanceof CeremonyFailure)) throw err
        this.refused(request, step, err)
        throw new errors.GK_INVALID_CREDENTIALS()
      }
    },
    refused (request, step, err) {
      if (err.reason === 'counter_regression') {
        const ua = request.headers['user-agent']
        // WebAuthn §6.1.1: a counter that did not grow means the key exists twice (a cloned authenticator).
        gk.emit('anomaly', {
          type: 'passkey_cloned',
          time: new Date(gk.now()),
          userId: err.userId,
          credentialId: err.credentialId,
          storedCounter: err.counters?.stored,
          presentedCounter: err.counters?.presented,
          ip: request.ip,
          userAgent: typeof ua === 'string' ? ua.slice(0, 256) : null
        })
      }
      // A second step is audited by the mfa plugin too (mfa.failure); this event says why the passkey was refused.
      gk.record({
        type: step === 'login' ? 'login.failure' : 'passkey.refused',
        outcome: 'failure',
        reason: 'GK_INVALID_CREDENTIALS',
        method: 'passkey',
        cause: err.reason,
        userId: err.userId,
        credentialId: err.credentialId
      }, request)
    },
    requireRecentLogin (request) {
      // RFC 9470: 401 GK_INSUFFICIENT_AUTHENTICATION with max_age; the client signs in again and retries.
      requireAuthentication(gk, request, { mfa: false, maxAgeMs: o.recentLoginMs }, '')
    }
  }
}
