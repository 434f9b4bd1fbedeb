import type { FastifyRequest } from 'fastify'
import Type, { type Static, type TInteger } from 'typebox'
import { boundedMs } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { checkOptions, dottedVoice, DurationOption, FunctionOption } from '../core/options-schema.js'
import { isIP } from 'node:net'
import { clientAddress } from './ip.js'
import { RATE_LIMIT_HEADERS, type RateLimitHeaders } from './ratelimit-headers.js'

const Int = (min: number, max: number): TInteger => Type.Integer({ minimum: min, maximum: max, errorMessage: `must be an integer from ${min} to ${max}` })
const Obj = { additionalProperties: false, errorMessage: 'must be an object' } as const

/** The `rateLimit` option of the core: a request budget per caller, enforced by `@fastify/rate-limit`. */
export const RateLimitOptionsSchema = Type.Object({
  /** Requests allowed per caller per window (default 100). */
  max: Type.Optional(Int(1, 1_000_000)),
  /** The window (default `'1m'`). */
  timeWindow: Type.Optional(DurationOption),
  /** Limit every route (default `true`); with `false` only routes with `config.rateLimit` are limited. */
  global: Type.Optional(Type.Boolean({ errorMessage: 'must be a boolean' })),
  /**
   * Use an API key's own `rateLimit` when its record has one (default `true`).
   * Only callers with the key-management permission set one, and it is
   * capped by this budget: its `max` at most `max`, its window at least `timeWindow`.
   */
  perKey: Type.Optional(Type.Boolean({ errorMessage: 'must be a boolean' })),
  /**
   * Whom an authenticated caller's budget belongs to: `'owner'` (default) —
   * every credential of one user (access tokens and API keys) shares the
   * user's budget; `'credential'` — each API key has a budget of its own.
   */
  per: Type.Optional(Type.Union([Type.Literal('owner'), Type.Literal('credential')], { errorMessage: "must be 'owner' or 'credential'" })),
  /**
   * Callers never limited: rate-limit keys — `'ip:<address>'` (an IPv6 address
   * stands for its /64, as the limits count it), `'sub:<user id>'`, `'key:<API key id>'`
   * — or a predicate `(request, key) => boolean`. Other entries are refused at start-up.
   */
  allowList: Type.Optional(Type.Union([
    Type.Array(Type.String()),
    FunctionOption<(request: FastifyRequest, key: string) => boolean | Promise<boolean>>('')
  ], { errorMessage: "must be an array of keys such as 'ip:10.0.0.1' or a function (request, key) => boolean" })),
  /** Most callers tracked in memory (default 10000); the least recently seen are forgotten. */
  maxKeys: Type.Optional(Int(100, 10_000_000)),
  /**
   * The response fields (default `'separate'`: `RateLimit-Limit`, `-Remaining`,
   * `-Reset`); `'structured'`: `RateLimit` and `RateLimit-Policy` structured
   * fields of the current draft-ietf-httpapi-ratelimit-headers; `'both'`.
   */
  headers: Type.Optional(Type.Unsafe<RateLimitHeaders>(Type.Enum(RATE_LIMIT_HEADERS, { errorMessage: `must be one of ${RATE_LIMIT_HEADERS.map((h) => `'${h}'`).join(', ')}` })))
}, Obj)

/** The `rateLimit` option of the core: a request budget per caller, enforced by `@fastify/rate-limit`. */
export type RateLimitOptions = Static<typeof RateLimitOptionsSchema>

/** Failure limit of one kind (per account or per address). */
const FailureLimitSchema = Type.Object({
  /** Failures allowed within `window` before refusing (account default 5, address default 50). */
  max: Type.Optional(Int(1, 10_000)),
  /** The sliding window (default `'15m'`). */
  window: Type.Optional(DurationOption)
}, Obj)

/** Failure limit of one kind (per account or per address). */
export type FailureLimit = Static<typeof FailureLimitSchema>

/** The `bruteForce` option of the core: login protection. */
export const BruteForceOptionsSchema = Type.Object({
  /** Failed logins per account (default `{ max: 5, window: '15m' }`). */
  account: Type.Optional(FailureLimitSchema),
  /** Failed logins per client address (default `{ max: 50, window: '15m' }`). */
  ip: Type.Optional(FailureLimitSchema),
  /** Lockout length: `base × factor^(n−1)` for the n-th lockout, at most `max` (default `{ base: '1m', factor: 2, max: '1h' }`). */
  lockout: Type.Optional(Type.Object({
    base: Type.Optional(DurationOption),
    factor: Type.Optional(Type.Number({ minimum: 1, maximum: 10, errorMessage: 'must be a number from 1 to 10' })),
    max: Type.Optional(DurationOption)
  }, Obj)),
  /** Consecutive failures after which every further failure locks for `lockout.max` (default 100, at most 100). */
  // NIST SP 800-63B §5.2.2 and ASVS 2.2.1: at most 100 consecutive failed attempts per account.
  hardCap: Type.Optional(Int(1, 100)),
  /** A quiet period after which an account's failure streak and back-off are forgotten (default `'24h'`). */
  forgetAfter: Type.Optional(DurationOption),
  /** Credential stuffing detection (default `{ accounts: 10, window: '10m', block: false }`); `false` turns it off. */
  credentialStuffing: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    accounts: Type.Optional(Int(2, 10_000)),
    window: Type.Optional(DurationOption),
    block: Type.Optional(Type.Union([Type.Literal(false), DurationOption]))
  }, Obj)], { errorMessage: 'must be false or an object' })),
  /** Most accounts and addresses tracked in memory (default 100000). */
  maxKeys: Type.Optional(Int(100, 10_000_000))
}, Obj)

/** The `bruteForce` option of the core: login protection. */
export type BruteForceOptions = Static<typeof BruteForceOptionsSchema>

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
  const o = checkOptions(RateLimitOptionsSchema, value === true ? {} : value, dottedVoice('rateLimit', 'rateLimit.'))
  const allowList = Array.isArray(o.allowList) ? o.allowList.map(allowListKey) : o.allowList
  // Frozen in place: the array stays typed as @fastify/rate-limit takes it.
  if (Array.isArray(allowList)) Object.freeze(allowList)
  return Object.freeze({
    max: o.max ?? 100,
    timeWindow: boundedMs(o.timeWindow, 'rateLimit.timeWindow', '1m', SECOND, DAY),
    global: o.global !== false,
    perKey: o.perKey !== false,
    per: o.per ?? 'owner',
    allowList,
    maxKeys: o.maxKeys ?? 10_000,
    headers: o.headers ?? 'separate'
  })
}

/** Validates `bruteForce`; `null` when it is `false`. Omitted, it is on with the defaults. */
export function parseBruteForce (value: unknown): BruteForceSettings | null {
  if (value === false) return null
  const o = checkOptions(BruteForceOptionsSchema, value === undefined || value === true ? {} : value, dottedVoice('bruteForce', 'bruteForce.'))
  const limit = (l: FailureLimit = {}, name: string, max: number): { max: number, windowMs: number } => Object.freeze({
    max: l.max ?? max,
    windowMs: boundedMs(l.window, `${name}.window`, '15m', SECOND, DAY)
  })
  const account = limit(o.account, 'bruteForce.account', 5)
  const ip = limit(o.ip, 'bruteForce.ip', 50)
  const factor = o.lockout?.factor ?? 2
  const baseMs = boundedMs(o.lockout?.base, 'bruteForce.lockout.base', '1m', SECOND, DAY)
  const maxMs = boundedMs(o.lockout?.max, 'bruteForce.lockout.max', '1h', SECOND, DAY)
  if (maxMs < baseMs) configError('bruteForce.lockout.max must be at least lockout.base')
  const hardCap = o.hardCap ?? 100
  if (account.max > hardCap) configError(`bruteForce.account.max (${account.max}) must not exceed bruteForce.hardCap (${hardCap})`)
  const forgetMs = boundedMs(o.forgetAfter, 'bruteForce.forgetAfter', '24h', SECOND, 30 * DAY)
  if (forgetMs < maxMs || forgetMs < account.windowMs) configError('bruteForce.forgetAfter must be at least lockout.max and account.window')
  const s = o.credentialStuffing === false ? null : o.credentialStuffing ?? {}
  const stuffing: BruteForceSettings['stuffing'] = s === null
    ? null
    : Object.freeze({
      accounts: s.accounts ?? 10,
      windowMs: boundedMs(s.window, 'bruteForce.credentialStuffing.window', '10m', SECOND, DAY),
      blockMs: s.block === undefined || s.block === false ? null : boundedMs(s.block, 'bruteForce.credentialStuffing.block', '15m', SECOND, DAY)
    })
  return Object.freeze({
    account,
    ip,
    lockout: Object.freeze({ baseMs, factor, maxMs }),
    hardCap,
    forgetMs,
    stuffing,
    maxKeys: o.maxKeys ?? 100_000
  })
}
