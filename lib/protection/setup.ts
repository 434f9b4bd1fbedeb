import type { FastifyInstance } from 'fastify'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { withResponses } from '../core/openapi.js'
import { declareService } from '../core/services.js'
import type { LoginGuard } from '../jwt/types.js'
import { normalizeLogin } from '../stores/types.js'
import { StuffingDetector } from './anomaly.js'
import { BruteForce, bruteForcePriority } from './brute-force.js'
import { memoryCounters, type CounterStore } from './counters.js'
import { bruteForceGuard } from './guard.js'
import { parseBruteForce, parseRateLimit, type BruteForceOptions, type BruteForceSettings, type RateLimitOptions, type RateLimitSettings } from './options.js'
import { registerRateLimit } from './rate-limit.js'

/** `app.gatekeeper.protection`: brute-force state and its administration. */
export interface ProtectionApi {
  /** Brute-force protection, or `null` when `bruteForce: false`. */
  readonly bruteForce: BruteForce | null
  /** The login guard, for a login route of your own (the jwt plugin's is guarded already). */
  readonly loginGuard: LoginGuard | null
  /** The counters of brute-force protection. */
  readonly counters: CounterStore
  /** Lifts the lockout of an account (its username) and forgets its failures. */
  unlock (username: string): Promise<void>
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** Brute-force protection state and administration (set by the `gatekeeper` plugin). */
    readonly protection: ProtectionApi
  }
}

declare module '../core/types.js' {
  interface GatekeeperOptions {
    /** Rate limiting per caller with `@fastify/rate-limit` (off unless given; `true` for the defaults). See docs/protection.md. */
    rateLimit?: RateLimitOptions | boolean
    /** Brute-force protection of logins (on with the defaults unless `false`). See docs/protection.md. */
    bruteForce?: BruteForceOptions | boolean
  }
}

declareService('protection', 'gatekeeper')

/** Normalised protection options. */
export interface ProtectionSettings {
  readonly rateLimit: RateLimitSettings | null
  readonly bruteForce: BruteForceSettings | null
}

/** Validates `rateLimit` and `bruteForce` (GK_CONFIG on a bad value); called before any hook is added. */
export function parseProtection (opts: { rateLimit?: unknown, bruteForce?: unknown }): ProtectionSettings {
  return Object.freeze({ rateLimit: parseRateLimit(opts.rateLimit), bruteForce: parseBruteForce(opts.bruteForce) })
}

/** Counters shared by every instance (the core's `redis` option provides them). */
export interface SharedProtection {
  /** The brute-force counters; `maxKeys` bounds any in-memory fallback, `priority` says which keys to hold on to. */
  counters (options: { maxKeys: number, priority: (key: string) => number }): CounterStore
  /** The `@fastify/rate-limit` store class and its `skipOnError`. */
  rateLimit: { store: new (params: unknown) => object, skipOnError: boolean }
}

/**
 * Wires protection into the app: registers the rate limiter, builds
 * brute-force protection and, when the app is ready, adds its guard to the
 * jwt plugin's login route. Called by the core plugin; `shared` puts the
 * counters in Redis.
 */
export async function setupProtection (app: FastifyInstance, gk: Gatekeeper, settings: ProtectionSettings, shared: SharedProtection | null = null): Promise<void> {
  if (settings.rateLimit !== null) {
    const global = settings.rateLimit.global
    // OpenAPI: the routes the limiter counts may answer 429 (gatekeeperOpenApi).
    app.addHook('onRoute', (route) => {
      const own = (route.config as { rateLimit?: unknown } | undefined)?.rateLimit
      if (own === false || (own === undefined && !global)) return
      route.schema = withResponses(route.schema, [429])
    })
    await registerRateLimit(app, settings.rateLimit, memoryCounters({ now: gk.now, maxKeys: settings.rateLimit.maxKeys }), gk.now, shared?.rateLimit ?? null)
  }
  const bf = settings.bruteForce
  // A separate store: a flood of rate-limit callers must not evict a lockout; nor may junk logins (priority).
  const own = { maxKeys: bf?.maxKeys ?? 100, priority: bruteForcePriority }
  const counters = shared?.counters(own) ?? memoryCounters({ now: gk.now, ...own })
  const bruteForce = bf === null ? null : new BruteForce(counters, bf, gk.now)
  const stuffing = bf?.stuffing == null ? null : new StuffingDetector(bf.stuffing.accounts, bf.stuffing.windowMs)
  const loginGuard = bruteForce === null ? null : bruteForceGuard(gk, bruteForce, stuffing)
  gk.provide('protection', Object.freeze({
    bruteForce,
    loginGuard,
    counters,
    async unlock (username: string) {
      await bruteForce?.unlock(normalizeLogin(username))
    }
  }))
  if (loginGuard === null) return
  // The jwt plugin registers after the core; by onReady it has, and its guards are read per request.
  app.addHook('onReady', async () => {
    if (gk.has('jwt')) gk.jwt.addLoginGuard(loginGuard)
  })
}
