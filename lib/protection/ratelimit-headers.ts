import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { toMs, type Duration } from '../core/duration.js'

/**
 * Which rate-limit response fields are sent:
 * - `'separate'`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
 *   (draft-ietf-httpapi-ratelimit-headers up to -06, what most clients read today);
 * - `'structured'`: `RateLimit` and `RateLimit-Policy` as structured fields
 *   (RFC 9651; the draft since -07);
 * - `'both'`: all five, while clients migrate.
 * `Retry-After` comes with every 429 in each form.
 */
export const RATE_LIMIT_HEADERS = ['separate', 'structured', 'both'] as const
/** A form of the rate-limit response fields. */
export type RateLimitHeaders = typeof RATE_LIMIT_HEADERS[number]

/** The policy a request was counted under: its name and window in seconds (when known). */
export interface QuotaPolicy {
  /** `"default"` (the core's budget), `"route"` (a route's `config.rateLimit`) or `"key"` (an API key's own budget). */
  name: 'default' | 'route' | 'key'
  /** The window in seconds, or `null` when it cannot be told (a route's window given as a function). */
  window: number | null
}

/**
 * The two structured fields of draft-ietf-httpapi-ratelimit-headers (-07
 * onwards): `RateLimit-Policy: "default";q=100;w=60` (quota and window) and
 * `RateLimit: "default";r=42;t=17` (remaining and seconds to reset). Each is
 * an RFC 9651 List of one Item, a String naming the policy, with Integer
 * parameters; names come from a fixed set, so no escaping is needed.
 */
export function structuredFields (policy: QuotaPolicy, limit: number, remaining: number, reset: number): { rateLimit: string, rateLimitPolicy: string } {
  const name = `"${policy.name}"`
  const int = (n: number): number => Math.max(0, Math.floor(n))
  return {
    rateLimit: `${name};r=${int(remaining)};t=${int(reset)}`,
    rateLimitPolicy: policy.window === null ? `${name};q=${int(limit)}` : `${name};q=${int(limit)};w=${int(policy.window)}`
  }
}

/** The window of a route's own `config.rateLimit`, in seconds, when it is a number (ms) or a duration string. */
function routeWindow (config: unknown): number | null {
  const w = (config as { timeWindow?: unknown } | null)?.timeWindow
  if (typeof w === 'number' && Number.isFinite(w)) return w / 1000
  if (typeof w === 'string') {
    try {
      return toMs(w as Duration, 'timeWindow') / 1000
    } catch {
      return null
    }
  }
  return null
}

function integer (value: unknown): number | null {
  const n = Number(Array.isArray(value) ? value[0] : value)
  return Number.isFinite(n) ? n : null
}

/**
 * Rewrites the separate fields `@fastify/rate-limit` sets into the
 * structured ones, on every response that carries them (429s included).
 * `keyWindow` answers the window of the request's API key budget, if any.
 */
export function addStructuredHeaders (app: FastifyInstance, form: Exclude<RateLimitHeaders, 'separate'>, defaultWindowMs: number,
  keyWindow: (request: FastifyRequest) => Promise<number | null>): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const limit = integer(reply.getHeader('ratelimit-limit'))
    if (limit === null) return payload
    const remaining = integer(reply.getHeader('ratelimit-remaining')) ?? 0
    const reset = integer(reply.getHeader('ratelimit-reset')) ?? 0
    const routeConfig = (request.routeOptions.config as { rateLimit?: unknown } | undefined)?.rateLimit
    let policy: QuotaPolicy
    // A route's own limit replaces the core's (and a key's) budget, as in @fastify/rate-limit.
    if (routeConfig !== undefined && routeConfig !== null && typeof routeConfig === 'object') policy = { name: 'route', window: routeWindow(routeConfig) }
    else {
      const keyMs = await keyWindow(request)
      policy = keyMs === null ? { name: 'default', window: defaultWindowMs / 1000 } : { name: 'key', window: keyMs / 1000 }
    }
    const fields = structuredFields(policy, limit, remaining, reset)
    reply.header('ratelimit', fields.rateLimit).header('ratelimit-policy', fields.rateLimitPolicy)
    if (form === 'structured') reply.removeHeader('ratelimit-limit').removeHeader('ratelimit-remaining').removeHeader('ratelimit-reset')
    return payload
  })
}
