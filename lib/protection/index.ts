/**
 * `fastify-gatekeeper/protection`: the types of the core's `rateLimit` and
 * `bruteForce` options and of `app.gatekeeper.protection`, the
 * `CounterStore` contract, and `memoryCounters` (a counter store for the
 * conformance suite of your own).
 */
export { memoryCounters, type CounterStore, type CounterValue, type MemoryCounterOptions, type MemoryCounterStore, type Taken, type WindowHits } from './counters.js'
export type { Admission, Attempt, BruteForce, FailureOutcome, Refusal } from './brute-force.js'
export type { RateLimitHeaders } from './ratelimit-headers.js'
export type { BruteForceOptions, FailureLimit, RateLimitOptions } from './options.js'
export type { ProtectionApi } from './setup.js'
