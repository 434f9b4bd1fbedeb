import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { declareService } from '../core/services.js'
import { memoryCounters } from '../protection/counters.js'
import type { SharedProtection } from '../protection/setup.js'
import { RevocationBus } from './bus.js'
import { RedisCounterStore } from './counters.js'
import { FailoverCounterStore } from './failover.js'
import { RedisHealth, RedisStalledError } from './health.js'
import type { RedisClient, RedisOption, RedisSettings } from './options.js'
import { redisRateLimitStore } from './rate-limit.js'

/** `app.gatekeeper.redis`: what the `redis` option set up. */
export interface RedisApi {
  /** The normalised option. */
  readonly settings: RedisSettings
  /** The revocation bus between instances. */
  readonly bus: RevocationBus
  /** Whether Redis answers; commands run through it are watched for stalls. */
  readonly health: RedisHealth
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** Set when the `gatekeeper` plugin's `redis` option is given (`app.gatekeeper.has('redis')`). */
    readonly redis: RedisApi
  }
}

declare module '../core/types.js' {
  interface GatekeeperOptions {
    /**
     * An ioredis client, or `{ client, prefix?, failOpen?, stallTimeout? }`: rate limits and
     * brute-force counters shared by every instance, and API key revocations
     * broadcast to them. See docs/deployment.md.
     */
    redis?: RedisOption
  }
}

declareService('redis', 'gatekeeper', "the gatekeeper plugin's `redis` option (`app.gatekeeper.has('redis')` says whether it is set)")

/** How long startup waits for Redis before going on without it (the app still starts). */
export const STARTUP_WAIT_MS = 2000

/** Resolves `true` when `p` settles in time, `false` otherwise; never rejects. */
async function within (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
  try {
    return await Promise.race([p.then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves when the client is connected; `cancel` drops the listener if it never is. */
function connected (client: RedisClient): { ready: Promise<void>, cancel: () => void } {
  let done = (): void => {}
  const ready = client.status === 'ready'
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
      done = () => {
        client.removeListener('ready', done)
        resolve()
      }
      client.on('ready', done)
    })
  return { ready, cancel: () => { client.removeListener('ready', done) } }
}

/** Warns when the client could make a request wait for long while Redis is down. */
function checkClientOptions (client: RedisClient, log: FastifyBaseLogger): void {
  const o = (client.options ?? {}) as { commandTimeout?: unknown, maxRetriesPerRequest?: unknown }
  if (typeof o.commandTimeout !== 'number') {
    log.warn('gatekeeper: the Redis client has no commandTimeout; set one (for example 500 ms) so a stalled Redis cannot hold requests')
  }
  if (typeof o.maxRetriesPerRequest !== 'number' || o.maxRetriesPerRequest > 3) {
    log.warn('gatekeeper: set the Redis client maxRetriesPerRequest to 1-3 so a command fails fast while Redis reconnects')
  }
}

/**
 * Wires the core's `redis` option: shared brute-force counters (failing
 * open or closed), the rate-limit store, and the revocation bus, which
 * evicts API keys revoked or rotated on another instance from this one's
 * cache. Logs Redis outages once each (the client's `'error'` events are
 * handled, so they never reach the console or crash the process). Startup
 * waits at most {@link STARTUP_WAIT_MS} for Redis.
 */
export async function setupRedis (app: FastifyInstance, gk: Gatekeeper, settings: RedisSettings): Promise<SharedProtection> {
  const { client, prefix, failOpen } = settings
  const log = app.log
  checkClientOptions(client, log)
  let down = false
  const onError = (err: Error): void => {
    if (down) return
    down = true
    log.warn({ err }, failOpen
      ? 'gatekeeper: Redis is unreachable; rate limits are skipped and login failures are counted per instance until it is back'
      : 'gatekeeper: Redis is unreachable; rate-limited routes and logins answer 503 until it is back')
  }
  const onReady = (): void => {
    if (!down) return
    down = false
    log.info('gatekeeper: Redis connection restored')
  }
  client.on('error', onError)
  client.on('ready', onReady)

  const bus = new RevocationBus({
    client,
    prefix,
    log,
    onRevoke: (r) => {
      if (r.kind === 'apikey') {
        if (gk.has('apiKeys')) gk.apiKeys.evict(r.id)
        return
      }
      // Sessions ended on another instance: the jwt plugin's checkUser forgets them (without publishing again).
      if (gk.has('jwt')) gk.jwt.forgetSessions(r.kind === 'session' ? { sessionId: r.id } : { userId: r.id })
    }
  })
  // Started whatever happens: without Redis now, the subscriber subscribes and replays when it connects.
  const connecting = connected(client)
  if (!await within(Promise.all([connecting.ready, bus.start()]), STARTUP_WAIT_MS)) {
    log.warn('gatekeeper: Redis did not answer at startup; starting anyway, shared limits and revocations resume when it does')
  }
  // The apiKey plugin records these after evicting the key locally; other instances evict it from the bus.
  const offRevoked = gk.on('apikey.revoked', (e: { keyId?: unknown }) => {
    if (typeof e.keyId === 'string') bus.publish({ kind: 'apikey', id: e.keyId }).catch(() => {})
  })
  const offRotated = gk.on('apikey.rotated', (e: { previousKeyId?: unknown }) => {
    if (typeof e.previousKeyId === 'string') bus.publish({ kind: 'apikey', id: e.previousKeyId }).catch(() => {})
  })

  app.addHook('onClose', async () => {
    offRevoked()
    offRotated()
    connecting.cancel()
    await bus.close()
    client.removeListener('error', onError)
    client.removeListener('ready', onReady)
  })

  let stalled = false
  const health = new RedisHealth(client, {
    stallMs: settings.stallMs,
    // Refused and dropped connections are logged from the client's events; a stall raises none.
    onDown: (cause) => {
      if (!(cause instanceof RedisStalledError) || stalled) return
      stalled = true
      log.warn({ err: cause }, failOpen
        ? 'gatekeeper: Redis stalled; rate limits are skipped and login failures are counted per instance until it answers again'
        : 'gatekeeper: Redis stalled; rate-limited routes and logins answer 503 until it answers again')
    },
    onUp: () => {
      if (!stalled) return
      stalled = false
      log.info('gatekeeper: Redis answers again')
    }
  })
  app.addHook('onClose', async () => { health.close() })
  gk.provide('redis', Object.freeze({ settings, bus, health }))
  return {
    counters: ({ maxKeys, priority }) => new FailoverCounterStore({
      primary: new RedisCounterStore({ client, prefix, now: gk.now, priority }),
      health,
      fallback: failOpen ? memoryCounters({ now: gk.now, maxKeys, priority }) : null,
      log,
      what: 'brute-force counters'
    }),
    rateLimit: { store: redisRateLimitStore(client, prefix, health), skipOnError: failOpen }
  }
}
