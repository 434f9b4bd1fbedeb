import { randomBytes } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import type { Test } from 'tap'

/** The Redis the suites use; override with GK_TEST_REDIS_URL. */
export const REDIS_URL = process.env.GK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test uses. */
export const uniquePrefix = (tag = 't'): string => `gktest:${tag}:${process.pid}:${randomBytes(4).toString('hex')}:`

/** The client options the docs recommend (a looser command timeout: test machines are busy), with a fast reconnect for the outage tests. */
export const CLIENT_OPTIONS: RedisOptions = { commandTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => 50 }

/** A client with {@link CLIENT_OPTIONS}; `url` defaults to {@link REDIS_URL}. Closed at the end of `t`. */
export function redisClient (t: Test, url = REDIS_URL, options: RedisOptions = {}): Redis {
  const client = new Redis(url, { ...CLIENT_OPTIONS, ...options })
  t.teardown(() => { client.disconnect() })
  return client
}

/**
 * True when Redis answers. Otherwise the suite is skipped with a visible
 * message, except under CI=true where an unreachable Redis fails the run.
 */
export async function requireRedis (t: Test): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    await probe.ping()
    return true
  } catch (err) {
    const reason = `Redis is not reachable at ${REDIS_URL} (${(err as Error).message})`
    if (process.env.CI === 'true') {
      t.fail(`${reason}; it is required when CI=true`)
    } else {
      t.comment(`SKIPPING the Redis tests: ${reason}. Set GK_TEST_REDIS_URL to run them (required when CI=true).`)
      t.plan(0, `Redis tests skipped: ${reason}`)
    }
    return false
  } finally {
    probe.disconnect()
  }
}

/** Every key under `prefix` (SCAN, never KEYS). */
export async function keysUnder (client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    found.push(...keys)
  } while (cursor !== '0')
  return found
}

/** Deletes every key under `prefix`. */
export async function cleanup (client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix)
  if (keys.length > 0) await client.del(...keys)
}

/** A plain client for assertions and cleanup, deleting the prefix's keys at the end of `t`. */
export function adminClient (t: Test, prefix: string): Redis {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
  t.teardown(async () => {
    await cleanup(admin, prefix)
    admin.disconnect()
  })
  return admin
}

/** Polls `check` every 10 ms until it is true; resolves to the time it took, or rejects after `limitMs`. */
export async function until (check: () => boolean | Promise<boolean>, limitMs: number): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await check()) return performance.now() - start
    if (performance.now() - start > limitMs) throw new Error(`condition not met within ${limitMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
