import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the gatekeeper uses.
 * Any ioredis client fits; the type is structural so that importing the
 * library's types never requires ioredis.
 */
export interface RedisClient {
  /** ioredis connection state: `'ready'` when commands are answered. */
  readonly status: string
  /** The client's options (read for `commandTimeout` and `maxRetriesPerRequest`). */
  readonly options?: object
  /** A new connection with the same options (the revocation bus subscribes on one). */
  duplicate (): RedisClient
  /** Used to probe a Redis held down; without it, a trivial script is run instead. */
  ping? (): Promise<unknown>
  evalsha (sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval (script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  subscribe (...channels: string[]): Promise<unknown>
  /** Lua commands for @fastify/rate-limit's Redis store. */
  defineCommand (name: string, definition: { numberOfKeys?: number, lua: string }): void
  on (event: string, listener: (...args: any[]) => void): unknown
  removeListener (event: string, listener: (...args: any[]) => void): unknown
  disconnect (): void
}

/** The core's `redis` option in full. */
export interface RedisOptions {
  /** An ioredis client. It stays yours: close it after `app.close()`. */
  client: RedisClient
  /** Prefix of every key and channel (default `'gk:'`); give each application its own. */
  prefix?: string
  /**
   * What shared limits do while Redis is unreachable (default `true`).
   * `true` (fail open): requests are not rate limited and brute-force
   * protection counts in each instance's memory until Redis is back.
   * `false` (fail closed): rate-limited routes and logins answer 503
   * `GK_STORE_UNAVAILABLE`. Authentication by token or key works either way.
   */
  failOpen?: boolean
  /**
   * A command unanswered this long means Redis stalled (default `'200ms'`,
   * from `'10ms'` to `'10s'`): the requests waiting on it take the
   * `failOpen` path at once, the next ones do not ask Redis until it
   * answers a probe again (every 500 ms). Keep it above Redis's slowest
   * healthy answer on your network.
   */
  stallTimeout?: Duration
}

/** The core's `redis` option: an ioredis client, or {@link RedisOptions}. */
export type RedisOption = RedisClient | RedisOptions

/** The normalised `redis` option. */
export interface RedisSettings {
  readonly client: RedisClient
  readonly prefix: string
  readonly failOpen: boolean
  /** `stallTimeout` in ms. */
  readonly stallMs: number
}

const PREFIX = /^[\x21-\x7e]{1,64}$/
const KEYS = ['client', 'prefix', 'failOpen', 'stallTimeout']
/** The default `stallTimeout`, in ms. */
export const STALL_DEFAULT_MS = 200

function isClient (value: unknown): value is RedisClient {
  if (value === null || typeof value !== 'object') return false
  const c = value as Record<string, unknown>
  return typeof c.status === 'string' && ['duplicate', 'evalsha', 'eval', 'subscribe', 'defineCommand', 'on', 'removeListener'].every((m) => typeof c[m] === 'function')
}

/** Validates the core's `redis` option (GK_CONFIG on a bad value); `null` when it is absent. */
export function parseRedis (value: unknown): RedisSettings | null {
  if (value === undefined || value === null || value === false) return null
  const message = "redis must be an ioredis client or { client, prefix?, failOpen?, stallTimeout? }: redis: new Redis('redis://127.0.0.1:6379', { commandTimeout: 500, maxRetriesPerRequest: 1 })"
  if (isClient(value)) return Object.freeze({ client: value, prefix: 'gk:', failOpen: true, stallMs: STALL_DEFAULT_MS })
  if (typeof value !== 'object' || Array.isArray(value)) configError(message)
  const o = value as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) configError(`unknown option redis.${k} (allowed: ${KEYS.join(', ')})`)
  if (!isClient(o.client)) configError(message)
  const prefix = o.prefix ?? 'gk:'
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) configError("redis.prefix must be 1-64 printable characters without spaces, such as 'myapp:gk:'")
  if (o.failOpen !== undefined && typeof o.failOpen !== 'boolean') configError('redis.failOpen must be a boolean: true lets requests through while Redis is down, false answers 503')
  const stallMs = boundedMs(o.stallTimeout as Duration | undefined, 'redis.stallTimeout', STALL_DEFAULT_MS, 10, 10_000)
  return Object.freeze({ client: o.client, prefix, failOpen: o.failOpen !== false, stallMs })
}
