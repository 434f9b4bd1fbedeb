import type { FastifyRequest } from 'fastify'
import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { isIP } from 'node:net'
import { clientAddress } from './ip.js'
import { RATE_LIMIT_HEADERS, type RateLimitHeaders } from './ratelimit-headers.js'

/** The `rateLimit` option of the core: a request budget per caller, enforced by `@fastify/rate-limit`. */
export interface RateLimitOptions {
  /** Requests allowed per caller per window (default 100). */
  max?: number
  /** The window (default `'1m'`). */
  timeWindow?: Duration
  /** Limit every route (default `true`); with `false` only routes with `config.rateLimit` are limited. */
  global?: boolean
  /**
   * Use an API key's own `rateLimit` when its record has one (default `true`).
   * Only callers with the key-management permission set one, and it is
   * capped by this budget: its `max` at most `max`, its window at least `timeWindow`.
   */
  perKey?: boolean
  /**
   * Whom an authenticated caller's budget belongs to: `'owner'` (default) —
   * every credential of one user (access tokens and API keys) shares the
   * user's budget; `'credential'` — each API key has a budget of its own.
   */
  per?: 'owner' | 'credential'
  /**
   * Callers never limited: rate-limit keys — `'ip:<address>'` (an IPv6 address
   * stands for its /64, as the limits count it), `'sub:<user id>'`, `'key:<API key id>'`
   * — or a predicate `(request, key) => boolean`. Other entries are refused at start-up.
   */
  allowList?: string[] | ((request: FastifyRequest, key: string) => boolean | Promise<boolean>)
  /** Most callers tracked in memory (default 10000); the least recently seen are forgotten. */
  maxKeys?: number
  /**
   * The response fields (default `'separate'`: `RateLimit-Limit`, `-Remaining`,
   * `-Reset`); `'structured'`: `RateLimit` and `RateLimit-Policy` structured
   * fields of the current draft-ietf-httpapi-ratelimit-headers; `'both'`.
   */
  headers?: RateLimitHeaders
}

/** Failure limit of one kind (per account or per address). */
export interface FailureLimit {
  /** Failures allowed within `window` before refusing (account default 5, address default 50). */
  max?: number
  /** The sliding window (default `'15m'`). */
  window?: Duration
}

/** The `bruteForce` option of the core: login protection. */
export interface BruteForceOptions {
  /** Failed logins per account (default `{ max: 5, window: '15m' }`). */
  account?: FailureLimit
  /** Failed logins per client address (default `{ max: 50, window: '15m' }`). */
  ip?: FailureLimit
  /** Lockout length: `base × factor^(n−1)` for the n-th lockout, at most `max` (default `{ base: '1m', factor: 2, max: '1h' }`). */
  lockout?: { base?: Duration, factor?: number, max?: Duration }
  /** Consecutive failures after which every further failure locks for `lockout.max` (default 100, at most 100). */
  hardCap?: number
  /** A quiet period after which an account's failure streak and back-off are forgotten (default `'24h'`). */
  forgetAfter?: Duration
  /** Credential stuffing detection (default `{ accounts: 10, window: '10m', block: false }`); `false` turns it off. */
  credentialStuffing?: { accounts?: number, window?: Duration, block?: Duration | false } | false
  /** Most accounts and addresses tracked in memory (default 100000). */
  maxKeys?: number
}

/** Normalised `rateLimit`. */
export interface RateLimitSettings {
  readonly max: number
  readonly timeWindow: number
  readonly global: boolean
  readonly perKey: boolean
  readonly per: 'owner' | 'credential'
  /** The allow list with each entry in the form the limits count (see {@link RateLimitOptions.allowList}). */
  readonly allowList: RateLimitOptions['allowList'] | undefined
  readonly maxKeys: number
  readonly headers: RateLimitHeaders
}

/** Normalised `bruteForce`. */
export interface BruteForceSettings {
  readonly account: { readonly max: number, readonly windowMs: number }
  readonly ip: { readonly max: number, readonly windowMs: number }
  readonly lockout: { readonly baseMs: number, readonly factor: number, readonly maxMs: number }
  readonly hardCap: number
  readonly forgetMs: number
  readonly stuffing: { readonly accounts: number, readonly windowMs: number, readonly blockMs: number | null } | null
  readonly maxKeys: number
}

const SECOND = 1000
const DAY = 86_400_000

function object (value: unknown, name: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${name} must be an object`)
  for (const k of Object.keys(value)) if (!allowed.includes(k)) configError(`unknown option ${name}.${k} (allowed: ${allowed.join(', ')})`)
  return value as Record<string, unknown>
}

function int (value: unknown, name: string, dflt: number, min: number, max: number): number {
  const v = value ?? dflt
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) configError(`${name} must be an integer from ${min} to ${max}`)
  return v as number
}

const IPV6_64 = /^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){3}::\/64$/
const KEY_FORMS = "'ip:<address>', 'sub:<user id>' or 'key:<API key id>'"

/**
 * One `allowList` entry as the rate-limit key it must equal: an address in the
 * form the limits count it (IPv4-mapped IPv6 as IPv4, IPv6 as its /64), so an
 * entry that can never match is refused at start-up rather than silently ignored.
 */
function allowListKey (entry: string): string {
  const colon = entry.indexOf(':')
  const kind = colon === -1 ? '' : entry.slice(0, colon)
  const rest = entry.slice(colon + 1)
  if (kind === 'ip') {
    if (isIP(rest) !== 0) return `ip:${clientAddress(rest)}`
    if (IPV6_64.test(rest)) return entry
    configError(`rateLimit.allowList entry '${entry}' is no address: write 'ip:' and an IPv4 or IPv6 address, such as 'ip:10.0.0.5' or 'ip:2001:db8::1' (which stands for its /64)`)
  }
  if ((kind === 'sub' || kind === 'key') && rest.trim() !== '') return entry
  if (kind === 'iss') {
    const pair = parseJson(rest)
    if (Array.isArray(pair) && pair.length === 2 && pair.every((p) => typeof p === 'string' && p !== '')) return `iss:${JSON.stringify(pair)}`
    configError(`rateLimit.allowList entry '${entry}' is no issuer key: write 'iss:["<issuer>","<subject>"]' for a caller with a token of another authorization server`)
  }
  if (isIP(entry) !== 0) configError(`rateLimit.allowList entry '${entry}' is an address without its kind: write 'ip:${entry}' (entries are ${KEY_FORMS})`)
  return configError(`rateLimit.allowList entry '${entry}' never matches a caller: entries are rate-limit keys, ${KEY_FORMS}`)
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Validates `rateLimit`; `null` when rate limiting is off. */
export function parseRateLimit (value: unknown): RateLimitSettings | null {
  if (value === undefined || value === false) return null
  const o = object(value === true ? {} : value, 'rateLimit', ['max', 'timeWindow', 'global', 'perKey', 'per', 'allowList', 'maxKeys', 'headers'])
  if (o.per !== undefined && o.per !== 'owner' && o.per !== 'credential') configError("rateLimit.per must be 'owner' or 'credential'")
  if (o.headers !== undefined && !(RATE_LIMIT_HEADERS as readonly unknown[]).includes(o.headers)) {
    configError(`rateLimit.headers must be one of ${RATE_LIMIT_HEADERS.map((h) => `'${h}'`).join(', ')}`)
  }
  for (const k of ['global', 'perKey'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') configError(`rateLimit.${k} must be a boolean`)
  const allowList = o.allowList
  if (allowList !== undefined && typeof allowList !== 'function' && !(Array.isArray(allowList) && allowList.every((k) => typeof k === 'string'))) {
    configError("rateLimit.allowList must be an array of keys such as 'ip:10.0.0.1' or a function (request, key) => boolean")
  }
  return Object.freeze({
    max: int(o.max, 'rateLimit.max', 100, 1, 1_000_000),
    timeWindow: boundedMs(o.timeWindow as Duration | undefined, 'rateLimit.timeWindow', '1m', SECOND, DAY),
    global: o.global !== false,
    perKey: o.perKey !== false,
    per: o.per === 'credential' ? 'credential' as const : 'owner' as const,
    allowList: Array.isArray(allowList) ? Object.freeze(allowList.map(allowListKey)) as string[] : allowList as RateLimitSettings['allowList'],
    maxKeys: int(o.maxKeys, 'rateLimit.maxKeys', 10_000, 100, 10_000_000),
    headers: (o.headers ?? 'separate') as RateLimitHeaders
  })
}

/** Validates `bruteForce`; `null` when it is `false`. Omitted, it is on with the defaults. */
export function parseBruteForce (value: unknown): BruteForceSettings | null {
  if (value === false) return null
  const o = object(value === undefined || value === true ? {} : value, 'bruteForce',
    ['account', 'ip', 'lockout', 'hardCap', 'forgetAfter', 'credentialStuffing', 'maxKeys'])
  const limit = (v: unknown, name: string, max: number): { max: number, windowMs: number } => {
    const l = object(v ?? {}, name, ['max', 'window'])
    return Object.freeze({
      max: int(l.max, `${name}.max`, max, 1, 10_000),
      windowMs: boundedMs(l.window as Duration | undefined, `${name}.window`, '15m', SECOND, DAY)
    })
  }
  const account = limit(o.account, 'bruteForce.account', 5)
  const ip = limit(o.ip, 'bruteForce.ip', 50)
  const lo = object(o.lockout ?? {}, 'bruteForce.lockout', ['base', 'factor', 'max'])
  const factor = lo.factor ?? 2
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1 || factor > 10) configError('bruteForce.lockout.factor must be a number from 1 to 10')
  const baseMs = boundedMs(lo.base as Duration | undefined, 'bruteForce.lockout.base', '1m', SECOND, DAY)
  const maxMs = boundedMs(lo.max as Duration | undefined, 'bruteForce.lockout.max', '1h', SECOND, DAY)
  if (maxMs < baseMs) configError('bruteForce.lockout.max must be at least lockout.base')
  // NIST SP 800-63B §5.2.2 and ASVS 2.2.1: at most 100 consecutive failed attempts per account.
  const hardCap = int(o.hardCap, 'bruteForce.hardCap', 100, 1, 100)
  if (account.max > hardCap) configError(`bruteForce.account.max (${account.max}) must not exceed bruteForce.hardCap (${hardCap})`)
  const forgetMs = boundedMs(o.forgetAfter as Duration | undefined, 'bruteForce.forgetAfter', '24h', SECOND, 30 * DAY)
  if (forgetMs < maxMs || forgetMs < account.windowMs) configError('bruteForce.forgetAfter must be at least lockout.max and account.window')
  let stuffing: BruteForceSettings['stuffing'] = null
  if (o.credentialStuffing !== false) {
    const s = object(o.credentialStuffing ?? {}, 'bruteForce.credentialStuffing', ['accounts', 'window', 'block'])
    stuffing = Object.freeze({
      accounts: int(s.accounts, 'bruteForce.credentialStuffing.accounts', 10, 2, 10_000),
      windowMs: boundedMs(s.window as Duration | undefined, 'bruteForce.credentialStuffing.window', '10m', SECOND, DAY),
      blockMs: s.block === undefined || s.block === false ? null : boundedMs(s.block as Duration, 'bruteForce.credentialStuffing.block', '15m', SECOND, DAY)
    })
  }
  return Object.freeze({
    account,
    ip,
    lockout: Object.freeze({ baseMs, factor, maxMs }),
    hardCap,
    forgetMs,
    stuffing,
    maxKeys: int(o.maxKeys, 'bruteForce.maxKeys', 100_000, 100, 10_000_000)
  })
}
