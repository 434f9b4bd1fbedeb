import rateLimit from '@fastify/rate-limit'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { GatekeeperStore } from '../stores/types.js'
import { MemoryCounterStore, type CounterStore } from './counters.js'
import { clientAddress } from './ip.js'
import type { RateLimitSettings } from './options.js'
import { addStructuredHeaders } from './ratelimit-headers.js'

/**
 * The caller a request is counted against: the authenticated subject
 * (`sub:<id>`: every credential of one owner shares its budget; for a token
 * of another issuer, `iss:["<issuer>","<subject>"]`), or with
 * `per: 'credential'` an API key on its own (`key:<id>`), else the client
 * address (`ip:<address>`, IPv6 per /64). Prefixes keep the kinds apart.
 */
export function rateLimitKey (request: FastifyRequest, per: 'owner' | 'credential' = 'owner'): string {
  const auth = request.auth
  if (auth !== null && auth !== undefined) {
    if (per === 'credential' && typeof auth.keyId === 'string') return `key:${auth.keyId}`
    // A subject is unique within its issuer only: an external token counts under its issuer and subject.
    return auth.issuer === undefined ? `sub:${auth.subject}` : `iss:${JSON.stringify([auth.issuer, auth.subject])}`
  }
  return `ip:${clientAddress(request.ip)}`
}

type Callback = (err: Error | null, result?: { current: number, ttl: number }) => void

/**
 * A `@fastify/rate-limit` store class over a {@link CounterStore}, so the
 * limiter counts where brute-force protection counts (memory now, Redis
 * when configured) and follows the gatekeeper's clock.
 */
export function rateLimitStore (counters: CounterStore, now: () => number): new (params: unknown) => object {
  let anonymous = 0
  class GatekeeperRateLimitStore {
    readonly #ns: string
    constructor (_params: unknown, ns = 'rl:') {
      this.#ns = ns
    }

    incr (key: string, cb: Callback, timeWindow: number): void {
      if (counters instanceof MemoryCounterStore) {
        const v = counters.incrementNow(this.#ns + key, timeWindow)
        cb(null, { current: v.value, ttl: Math.max(0, v.expiresAt - now()) })
        return
      }
      counters.increment(this.#ns + key, timeWindow).then(
        (v) => { cb(null, { current: v.value, ttl: Math.max(0, v.expiresAt - now()) }) },
        (err: Error) => { cb(err) })
    }

    read (key: string, cb: Callback): void {
      counters.get(this.#ns + key).then(
        (v) => { cb(null, v === null ? { current: 0, ttl: 0 } : { current: v.value, ttl: Math.max(0, v.expiresAt - now()) }) },
        (err: Error) => { cb(err) })
    }

    // A route with its own config.rateLimit counts in its own namespace.
    child (params: { routeInfo?: { method?: unknown, url?: unknown } }): GatekeeperRateLimitStore {
      const r = params.routeInfo
      const ns = typeof r?.url === 'string' ? `rl:${String(r.method)}:${r.url}:` : `rl:#${++anonymous}:`
      return new GatekeeperRateLimitStore(params, ns)
    }
  }
  return GatekeeperRateLimitStore
}

interface KeyLimit { max: number, timeWindow: number }

/** The limiter's `max` and `timeWindow` take a function answering a number or a promise of one (its types list the two apart). */
type LimitFn = (request: FastifyRequest) => number

/** `f(value)`, after it settles when `value` is a promise: no promise where none is needed. */
function then<T, R> (value: T | Promise<T>, f: (v: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(f) : f(value)
}

/** The window a key's own budget counts in (never shorter than the operator's), or `null` without one. */
const keyWindow = (limit: KeyLimit | null, operator: number): number | null => limit === null ? null : Math.max(limit.timeWindow, operator)

/**
 * Per-key limits: an API key's record may carry its own `rateLimit`. Looked
 * up by key id with a short cache (a key's limit is fixed at creation), and
 * once per request.
 */
export class KeyLimits {
  readonly #cache = new Map<string, { limit: KeyLimit | null, until: number }>()
  readonly #perRequest = new WeakMap<FastifyRequest, Promise<KeyLimit | null>>()

  constructor (
    private readonly store: GatekeeperStore,
    private readonly now: () => number,
    private readonly log: FastifyBaseLogger,
    private readonly ttlMs = 30_000,
    private readonly max = 10_000
  ) {}

  /** The limit of the request's API key, or `null` when it has none (or the request has no key). */
  of (request: FastifyRequest): Promise<KeyLimit | null> {
    const v = this.current(request)
    return v instanceof Promise ? v : Promise.resolve(v)
  }

  /**
   * As {@link of}, answered synchronously when the key's limit is cached
   * (every request of a key but one per `ttlMs`): a promise only on a miss.
   */
  current (request: FastifyRequest): KeyLimit | null | Promise<KeyLimit | null> {
    const keyId = request.auth?.keyId
    if (typeof keyId !== 'string') return null
    const hit = this.#cache.get(keyId)
    if (hit !== undefined && hit.until > this.now()) return hit.limit
    let p = this.#perRequest.get(request)
    if (p === undefined) {
      p = this.#lookup(keyId)
      this.#perRequest.set(request, p)
    }
    return p
  }

  async #lookup (keyId: string | undefined): Promise<KeyLimit | null> {
    if (typeof keyId !== 'string') return null
    const now = this.now()
    const hit = this.#cache.get(keyId)
    if (hit !== undefined && hit.until > now) return hit.limit
    let limit: KeyLimit | null = null
    try {
      const record = await this.store.apiKeys.findById(keyId)
      limit = record?.rateLimit ?? null
    } catch (err) {
      // The caller was authenticated a moment ago; the default limit still applies.
      this.log.warn({ err, keyId }, 'gatekeeper: could not read the rate limit of an API key')
      return null
    }
    if (this.#cache.size >= this.max) this.#cache.delete(this.#cache.keys().next().value as string)
    this.#cache.set(keyId, { limit, until: now + this.ttlMs })
    return limit
  }
}

/**
 * Registers `@fastify/rate-limit` keyed by {@link rateLimitKey}. Its hooks
 * are added to each route in `onRequest`; route-level hooks run after the
 * core's global onRequest authentication, so `request.auth` is known when
 * the key is chosen, and an over-limit caller is refused before its body
 * is read.
 */
export async function registerRateLimit (app: FastifyInstance, settings: RateLimitSettings, counters: CounterStore, now: () => number,
  shared: { store: new (params: unknown) => object, skipOnError: boolean } | null = null): Promise<void> {
  const keys = settings.perKey ? new KeyLimits(app.gatekeeper.store, now, app.log) : null
  const per = settings.per
  await app.register(rateLimit, {
    global: settings.global,
    hook: 'onRequest',
    // Callers without a key skip the lookup; a key whose limit is cached is answered
    // without a promise (the limiter awaits a plain value as well).
    // A key's own budget is never more generous than the operator's: at most its max, at least its window.
    max: keys === null
      ? settings.max
      : ((request: FastifyRequest) => request.auth?.keyId === undefined ? settings.max : then(keys.current(request), (l) => Math.min(l?.max ?? settings.max, settings.max))) as LimitFn,
    timeWindow: keys === null
      ? settings.timeWindow
      : ((request: FastifyRequest) => request.auth?.keyId === undefined ? settings.timeWindow : then(keys.current(request), (l) => Math.max(l?.timeWindow ?? settings.timeWindow, settings.timeWindow))) as LimitFn,
    // A key with a budget of its own (set by a key manager) counts apart; every other credential counts for its owner.
    keyGenerator: keys === null || per === 'credential'
      ? (request: FastifyRequest) => rateLimitKey(request, per)
      : (request: FastifyRequest) => typeof request.auth?.keyId === 'string'
          ? then(keys.current(request), (l) => l !== null ? `key:${request.auth?.keyId as string}` : rateLimitKey(request))
          : rateLimitKey(request),
    ...(settings.allowList === undefined ? {} : { allowList: settings.allowList }),
    // With the core's redis option: @fastify/rate-limit's Redis store, failing open (skipOnError) or closed.
    store: (shared?.store ?? rateLimitStore(counters, now)) as never,
    skipOnError: shared?.skipOnError ?? false,
    // IETF draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit/-Remaining/-Reset, plus Retry-After on 429.
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) => new errors.GK_RATE_LIMITED(context.after)
  })
  if (settings.headers !== 'separate') {
    addStructuredHeaders(app, settings.headers, settings.timeWindow, async (request) =>
      keys === null || request.auth?.keyId === undefined ? null : keyWindow(await keys.of(request), settings.timeWindow))
  }
}
