import { createRequire } from 'node:module'
import { errors } from '../core/errors.js'
import type { RedisHealth } from './health.js'
import type { RedisClient } from './options.js'

type Callback = (err: Error | null, result?: { current: number, ttl: number } | null) => void

/** @fastify/rate-limit's own Redis store (what its `redis: client` option builds). */
interface NativeStore {
  incr (key: string, cb: Callback, timeWindow: number, max: number): void
  read (key: string, cb: Callback, timeWindow: number, max: number): void
  child (routeOptions: unknown): NativeStore
}
type NativeStoreClass = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: RedisClient, key?: string) => NativeStore

const require = createRequire(import.meta.url)
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as NativeStoreClass

/** The options @fastify/rate-limit hands a store class. */
interface StoreParams {
  continueExceeding?: boolean
  exponentialBackoff?: boolean
}

/**
 * A `@fastify/rate-limit` store class that is the plugin's own Redis store
 * (its Lua script, its key layout `<prefix>rl:<key>`, Redis's clock) with
 * one change: a failure becomes `GK_STORE_UNAVAILABLE`, so that with
 * `skipOnError: false` (fail closed) a caller gets a 503 with a stable code
 * instead of a 500 carrying a driver message. While `health` says Redis
 * is down it fails at once rather than waiting for a command timeout, and
 * a call waiting when Redis stalls fails as soon as the stall is detected.
 */
export function redisRateLimitStore (client: RedisClient, prefix: string, health: RedisHealth): new (params: unknown) => object {
  const unavailable = (): Error => new errors.GK_STORE_UNAVAILABLE()
  const wrap = (cb: Callback): Callback => (err, result) => {
    if (err === null || err === undefined) return cb(null, result)
    health.failed(err)
    cb(unavailable())
  }
  class GatekeeperRedisRateLimitStore {
    readonly #inner: NativeStore
    constructor (params: unknown, inner?: NativeStore) {
      const p = (params ?? {}) as StoreParams
      this.#inner = inner ?? new RedisStore(p.continueExceeding === true, p.exponentialBackoff === true, client, `${prefix}rl:`)
    }

    incr (key: string, cb: Callback, timeWindow: number, max: number): void {
      if (!health.available) return cb(unavailable())
      health.watch((done: Callback) => { this.#inner.incr(key, done, timeWindow, max) }, wrap(cb))
    }

    read (key: string, cb: Callback, timeWindow: number, max: number): void {
      if (!health.available) return cb(unavailable())
      health.watch((done: Callback) => { this.#inner.read(key, done, timeWindow, max) }, wrap(cb))
    }

    // A route with its own config.rateLimit counts under its own keys, as with `redis: client`.
    child (routeOptions: unknown): GatekeeperRedisRateLimitStore {
      return new GatekeeperRedisRateLimitStore(routeOptions, this.#inner.child(routeOptions))
    }
  }
  return GatekeeperRedisRateLimitStore
}
