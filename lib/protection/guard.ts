import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { fingerprint } from '../core/logging.js'
import type { LoginGuard } from '../jwt/types.js'
import { normalizeLogin } from '../stores/types.js'
import type { StuffingDetector } from './anomaly.js'
import type { Attempt, BruteForce } from './brute-force.js'
import { clientAddress } from './ip.js'
import './events.js'

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
 * `addLoginGuard`). `before` lets an attempt through holding its place in
 * the account's and the address's budgets; `onFailure` counts it, `onSuccess`
 * clears the account, `onError` gives the place back (the attempt got no
 * verdict, e.g. the store answered 503). Records `login.locked` when an
 * account or address gets locked and emits `anomaly` events for credential
 * stuffing.
 */
export function bruteForceGuard (gk: Gatekeeper, bf: BruteForce, stuffing: StuffingDetector | null): LoginGuard {
  // The attempt `before` let through, settled by whichever of onFailure, onSuccess or onError comes first.
  const attempts = new WeakMap<FastifyRequest, Attempt>()
  const blockMs = bf.settings.stuffing?.blockMs ?? null
  const take = (request: FastifyRequest): Attempt | undefined => {
    const attempt = attempts.get(request)
    attempts.delete(request)
    return attempt
  }
  return {
    async before (request, login) {
      let admission
      try {
        admission = await bf.admit(login.login, request.ip)
      } catch (err) {
        // Fail closed: without its counters the protection cannot tell a locked account from a free one.
        request.log.error({ err }, 'gatekeeper: brute-force counters unavailable')
        throw new errors.GK_STORE_UNAVAILABLE()
      }
      if (admission.refusal !== null) {
        request.log.info({ lockScope: admission.refusal.scope }, 'gatekeeper: login refused by brute-force protection')
        refuse(admission.refusal.retryAfterMs)
      }
      attempts.set(request, admission.attempt)
    },
    async onFailure (request, login, user) {
      let out
      try {
        // A login route that never called before still gets its failure counted.
        out = await (take(request) ?? bf.attempt(login.login, request.ip)).failure()
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
          // A name that is no account may be a password typed into the wrong field: never logged verbatim.
          ...(user === null ? { login: null, loginFingerprint: fingerprint(login.login) } : { login: login.login }),
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
        const attempt = take(request)
        if (attempt !== undefined) await attempt.success()
        else await bf.success(normalizeLogin(user.username))
      } catch (err) {
        // The password was right: a counter that could not be reset must not refuse the login.
        request.log.error({ err }, 'gatekeeper: could not reset brute-force counters')
      }
    },
    async onError (request) {
      try {
        await take(request)?.release()
      } catch (err) {
        // Not given back now, the place is given back when it expires.
        request.log.error({ err }, 'gatekeeper: could not release a login attempt')
      }
    }
  }
}
