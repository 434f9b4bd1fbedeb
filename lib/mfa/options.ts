import { boundedMs } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { Sealer } from './seal.js'
import type { MfaOptions } from './types.js'

/** The default `acr_values` of a step-up challenge for a second factor (the OpenID PAPE multi-factor policy). */
export const MFA_ACR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor'

/** The options, checked and with their defaults, frozen. */
export interface NormalizedMfaOptions {
  sealer: Sealer
  issuer: string | null
  challengeTtlMs: number
  maxAttempts: number
  totpWindow: number
  recentAuthMs: number
  acr: string
  routes: { loginMfa: string, stepUp: string, factors: string } | null
}

const KEYS = ['encryptionKeys', 'issuer', 'challengeTtl', 'maxAttempts', 'totpWindow', 'recentAuth', 'acr', 'routes']
const PATH = /^(\/[A-Za-z0-9\-._~]+)+$/

function int (value: unknown, name: string, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) configError(`mfa: ${name} must be an integer from ${min} to ${max}`)
  return value
}

/** Checks the options at registration; every problem is a `GK_CONFIG` naming what to change. */
export function normalizeMfaOptions (opts: MfaOptions): NormalizedMfaOptions {
  if (opts === null || typeof opts !== 'object') configError("mfa needs options: { encryptionKeys: [{ id: '1', key: process.env.MFA_KEY }] }")
  for (const k of Object.keys(opts)) if (!KEYS.includes(k)) configError(`mfa: unknown option '${k}' (allowed: ${KEYS.join(', ')})`)
  if (opts.issuer !== undefined && (typeof opts.issuer !== 'string' || opts.issuer.length === 0 || opts.issuer.length > 100 || opts.issuer.includes(':'))) {
    configError("mfa: issuer must be a name of 1 to 100 characters without ':' (authenticator apps show it)")
  }
  if (opts.acr !== undefined && (typeof opts.acr !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(opts.acr))) configError('mfa: acr must be a printable value without spaces, quotes or backslashes')
  let routes: NormalizedMfaOptions['routes'] = null
  if (opts.routes !== false) {
    const r = opts.routes ?? {}
    if (r === null || typeof r !== 'object') configError('mfa: routes must be an object or false')
    const prefix = r.prefix ?? '/api'
    const path = (v: string | undefined, dflt: string, name: string): string => {
      const p = v ?? dflt
      if (typeof p !== 'string' || !PATH.test(p)) configError(`mfa: routes.${name} must be a path such as '${dflt}'`)
      return p
    }
    if (prefix !== '' && !PATH.test(prefix)) configError("mfa: routes.prefix must be a path such as '/api', or ''")
    routes = {
      loginMfa: prefix + path(r.loginMfa, '/login/mfa', 'loginMfa'),
      stepUp: prefix + path(r.stepUp, '/login/step-up', 'stepUp'),
      factors: prefix + path(r.factors, '/mfa', 'factors')
    }
  }
  return Object.freeze({
    sealer: new Sealer(opts.encryptionKeys),
    issuer: opts.issuer ?? null,
    challengeTtlMs: boundedMs(opts.challengeTtl, 'mfa challengeTtl', '5m', 30_000, 900_000),
    maxAttempts: int(opts.maxAttempts, 'maxAttempts', 5, 1, 10),
    totpWindow: int(opts.totpWindow, 'totpWindow', 1, 0, 2),
    recentAuthMs: boundedMs(opts.recentAuth, 'mfa recentAuth', '10m', 60_000, 3_600_000),
    acr: opts.acr ?? MFA_ACR,
    routes
  })
}
