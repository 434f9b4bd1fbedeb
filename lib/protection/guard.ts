import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { LoginGuard } from '../jwt/types.js'
import { normalizeLogin } from '../stores/types.js'
import type { StuffingDetector } from './anomaly.js'
import type { BruteForce } from './brute-force.js'
import { clientAddress } from './ip.js'

/** Seconds for a `Retry-After` header: whole, at least 1. */
export function retryAfterSeconds (ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

/**
 * Throws `GK_ACCOUNT_LOCKED` carrying a `Retry-After` header. One body for
 * every refusal — known or unknown account, account or address limit — so a
 * lockout reveals nothing about which names exist.
 */
export function refuse (retryAfterMs: number): never {
  const err = new errors.GK_ACCOUNT_LOCKED() as Error & { headers?: Record<string, string> }
  // RFC 9110 §10.2.3; Fastify's error handler copies `headers` onto the reply.
  err.headers = { 'retry-after': String(retryAfterSeconds(retryAfterMs)) }
  throw err
}

/**
 * The login guard of brute-force protection (added to the jwt plugin with
 * `addLoginGuard`). Records `login.locked` when an account or address gets
 * locked and emits `anomaly` events for credential stuffing.
 */
export function bruteForceGuard (gk: Gatekeeper, bf: BruteForce, stuffing: StuffingDetector | null): LoginGuard {
  // The login as the attempt named it, for onSuccess (which receives only the user).
  const attempted = new WeakMap<FastifyRequest, string>()
  const blockMs = bf.settings.stuffing?.blockMs ?? null
  return {
    async before (request, login) {
      let refusal
      try {
        refusal = await bf.admit(login.login, request.ip)
      } catch (err) {
        // Fail closed: without its counters the protection cannot tell a locked account from a free one.
        request.log.error({ err }, 'gatekeeper: brute-force counters unavailable')
        throw new errors.GK_STORE_UNAVAILABLE()
      }
      if (refusal !== null) {
        request.log.info({ lockScope: refusal.scope }, 'gatekeeper: login refused by brute-force protection')
        refuse(refusal.retryAfterMs)
      }
      attempted.set(request, login.login)
    },
    async onFailure (request, login, user) {
      let out
      try {
        out = await bf.failure(login.login, request.ip)
      } catch (err) {
        // The attempt was admitted and counted already; the caller still gets its 401.
        request.log.error({ err }, 'gatekeeper: could not record a failed login')
        return
      }
      if (out.lockedForMs !== null) {
        gk.record({
          type: 'login.locked',
          outcome: 'failure',
          reason: 'GK_ACCOUNT_LOCKED',
          scope: 'account',
          login: login.login,
          userId: user?.id ?? null,
          lockedFor: retryAfterSeconds(out.lockedForMs),
          lockout: out.level,
          consecutiveFailures: out.streak
        }, request)
      }
      if (out.ipRefusedForMs !== null) {
        gk.record({ type: 'login.locked', outcome: 'failure', reason: 'GK_ACCOUNT_LOCKED', scope: 'ip', lockedFor: retryAfterSeconds(out.ipRefusedForMs) }, request)
      }
      if (stuffing === null) return
      const report = stuffing.observe(clientAddress(request.ip), login.login, gk.now())
      if (report === null) return
      request.log.warn({ anomaly: report }, 'gatekeeper: credential stuffing suspected')
      gk.emit('anomaly', report)
      if (blockMs !== null) {
        await bf.block(request.ip, blockMs)
        gk.record({ type: 'login.locked', outcome: 'failure', reason: 'GK_ACCOUNT_LOCKED', scope: 'blocked', lockedFor: retryAfterSeconds(blockMs) }, request)
      }
    },
    async onSuccess (request, user) {
      try {
        await bf.success(attempted.get(request) ?? normalizeLogin(user.username))
      } catch (err) {
        // The password was right: a counter that could not be reset must not refuse the login.
        request.log.error({ err }, 'gatekeeper: could not reset brute-force counters')
      }
    }
  }
}
