/**
 * `fastify-gatekeeper/redis`: the pieces behind the core's `redis` option —
 * shared counters, the rate-limit store and the revocation bus — for
 * tuning, tests and custom wiring. Most applications only pass
 * `redis: client` to the core plugin.
 */
export { parseRedis, STALL_DEFAULT_MS, type RedisClient, type RedisOption, type RedisOptions, type RedisSettings } from './options.js'
export { RedisCounterStore, redisCounters, type RedisCounterOptions } from './counters.js'
export { FailoverCounterStore, type FailoverOptions } from './failover.js'
export { redisRateLimitStore } from './rate-limit.js'
export { RedisHealth, RedisStalledError, type RedisHealthOptions } from './health.js'
export { RevocationBus, LOG_KEEP_MS, type Revocation, type RevocationBusOptions } from './bus.js'
export { setupRedis, STARTUP_WAIT_MS, type RedisApi } from './setup.js'
