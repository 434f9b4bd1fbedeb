import { createGatekeeper, type CoreSection } from './core/plugin.js'
import { parseProtection, setupProtection, type ProtectionSettings } from './protection/setup.js'
import { parseRedis, type RedisSettings } from './redis/options.js'
import { setupRedis } from './redis/setup.js'

/**
 * Rate limits, brute force and Redis: the options `rateLimit`, `bruteForce`
 * and `redis` of the `gatekeeper` plugin. Redis, when given, holds the
 * protection counters of every instance.
 */
const protection: CoreSection<{ protection: ProtectionSettings, redis: RedisSettings | null }> = {
  options: ['rateLimit', 'bruteForce', 'redis'],
  parse: (opts) => ({ protection: parseProtection(opts), redis: parseRedis(opts.redis) }),
  async setup (app, gk, { protection, redis }) {
    await setupProtection(app, gk, protection, redis === null ? null : await setupRedis(app, gk, redis))
  }
}

/**
 * The `gatekeeper` plugin: the core (shared store, secure-by-default route
 * policy, `request.auth`, audit) with rate limits, brute-force protection
 * and Redis plugged in.
 */
export const gatekeeper = createGatekeeper([protection])
