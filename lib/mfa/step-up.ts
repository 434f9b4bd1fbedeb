import type { FastifyRequest } from 'fastify'
import { toMs } from '../core/duration.js'
import { configError, errors } from '../core/errors.js'
import { isRecord } from '../core/json.js'
import type { Gatekeeper } from '../core/gatekeeper.js'

/** A route's `config.stepUp`, checked. */
export interface StepUpRequirement {
  mfa: boolean
  /** Milliseconds, or `null` for no limit. */
  maxAgeMs: number | null
}

/** Checks `config.stepUp` of a route; `GK_CONFIG` naming the route when it is malformed. */
export function parseStepUp (value: unknown, where: string): StepUpRequirement | null {
  if (value === undefined) return null
  if (!isRecord(value)) return configError(`${where}: config.stepUp must be an object { mfa?, maxAge? }`)
  const o = value
  for (const k of Object.keys(o)) if (k !== 'mfa' && k !== 'maxAge') configError(`${where}: unknown key config.stepUp.${k} (allowed: mfa, maxAge)`)
  if (o.mfa !== undefined && typeof o.mfa !== 'boolean') configError(`${where}: config.stepUp.mfa must be a boolean`)
  const maxAgeMs = o.maxAge === undefined ? null : toMs(o.maxAge, `${where}: config.stepUp.maxAge`)
  if (maxAgeMs !== null && maxAgeMs < 1000) configError(`${where}: config.stepUp.maxAge must be at least 1s`)
  if (o.mfa !== true && maxAgeMs === null) configError(`${where}: config.stepUp asks for nothing; give mfa: true and/or maxAge`)
  return Object.freeze({ mfa: o.mfa === true, maxAgeMs })
}

/**
 * Whether the caller's token meets a requirement: the missing parts, or
 * `null` when it does. A credential without `amr`/`auth_time` (an API key,
 * a token of another issuer) meets none.
 */
export function shortfall (claims: Record<string, unknown> | undefined, req: StepUpRequirement, now: number): { mfa: boolean, age: boolean } | null {
  const amr = claims?.amr
  const authTime = claims?.auth_time
  const mfa = req.mfa && !(Array.isArray(amr) && amr.includes('mfa'))
  const age = req.maxAgeMs !== null && !(typeof authTime === 'number' && now - authTime * 1000 <= req.maxAgeMs)
  return mfa || age ? { mfa, age } : null
}

/** RFC 9470 §3: the challenge telling the client which authentication to come back with. */
export function stepUpChallenge (realm: string, req: StepUpRequirement, acr: string): string {
  let h = `Bearer realm="${realm}", error="insufficient_user_authentication", error_description="A different authentication level is required"`
  if (req.mfa) h += `, acr_values="${acr}"`
  if (req.maxAgeMs !== null) h += `, max_age=${Math.floor(req.maxAgeMs / 1000)}`
  return h
}

/** Throws `GK_INSUFFICIENT_AUTHENTICATION` with its challenge unless `request.auth` meets `req`. */
export function requireAuthentication (gk: Gatekeeper, request: FastifyRequest, req: StepUpRequirement, acr: string): void {
  const auth = request.auth
  const missing = shortfall(auth?.claims, req, gk.now())
  if (missing === null) return
  gk.record({
    type: 'access.denied',
    outcome: 'failure',
    reason: 'GK_INSUFFICIENT_AUTHENTICATION',
    route: `${request.method} ${request.routeOptions.url ?? request.url}`,
    missing: [...(missing.mfa ? ['mfa'] : []), ...(missing.age ? ['max_age'] : [])]
  }, request)
  throw Object.assign(new errors.GK_INSUFFICIENT_AUTHENTICATION(), { headers: { 'www-authenticate': stepUpChallenge(gk.realm, req, acr) } })
}
