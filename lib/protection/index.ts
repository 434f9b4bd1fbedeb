/**
 * `fastify-gatekeeper/protection`: the pieces behind the core's `rateLimit`
 * and `bruteForce` options — counters, brute-force protection, credential
 * stuffing detection and the rate-limit key — for tuning, administration
 * and custom login routes.
 */
export { MemoryCounterStore, memoryCounters, type CounterStore, type CounterValue, type MemoryCounterOptions, type Taken, type WindowHits } from './counters.js'
export { BruteForce, bruteForcePriority, PENDING_MS, type Admission, type Attempt, type FailureOutcome, type Refusal } from './brute-force.js'
export { StuffingDetector, type StuffingReport } from './anomaly.js'
export { bruteForceGuard, refuse, retryAfterSeconds } from './guard.js'
export { clientAddress } from './ip.js'
export { rateLimitKey, rateLimitStore, KeyLimits } from './rate-limit.js'
export { RATE_LIMIT_HEADERS, structuredFields, type QuotaPolicy, type RateLimitHeaders } from './ratelimit-headers.js'
export { parseBruteForce, parseRateLimit, type BruteForceOptions, type BruteForceSettings, type FailureLimit, type RateLimitOptions, type RateLimitSettings } from './options.js'
export { parseProtection, type ProtectionApi, type ProtectionSettings } from './setup.js'
