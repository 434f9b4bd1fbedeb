import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import type { Test } from 'tap'

/** The Redis the suites use; override with GK_TEST_REDIS_URL. */
export const REDIS_URL = process.env.GK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test uses. */
export const uniquePrefix = (tag = 't'): string => `gktest:${tag}:${process.pid}:${randomBytes(4).toString('hex')}:`

/** The client options the docs recommend (a looser command timeout: test machines are busy), with a fast reconnect for the outage tests. */
export const CLIENT_OPTIONS: RedisOptions = { commandTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => 50 }

/** A client with {@link CLIENT_OPTIONS}; `url` defaults to {@link REDIS_URL}. Closed at the end of `t`. */
export function redisClient (t: Pick<Test, 'teardown'>, url = REDIS_URL, options: RedisOptions = {}): Redis {
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
export function adminClient (t: Pick<Test, 'teardown'>, prefix: string): Redis {
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

/**
 * A TCP proxy in front of Redis that a test can cut (`stop`), restore
 * (`start`, same port) or stall (`stall(true)`: connections stay open and
 * data is held back, like a Redis that stopped answering).
 */
export class RedisProxy {
  port = 0
  #server: net.Server | null = null
  readonly #sockets = new Set<net.Socket>()
  readonly #release = new Set<() => void>()
  #stalled = false
  /** What clients sent while stalled, in order (RESP text). */
  readonly held: string[] = []

  /** Listens (on the previous port when restarted); returns the port. */
  async start (): Promise<number> {
    const target = new URL(REDIS_URL)
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname)
      this.#forward(client, upstream, true)
      this.#forward(upstream, client, false)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.#server = server
    this.port = (server.address() as net.AddressInfo).port
    return this.port
  }

  /** The URL clients connect to. */
  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Refuses new connections and cuts the open ones. */
  async stop (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    const server = this.#server
    this.#server = null
    if (server !== null) await new Promise((resolve) => server.close(resolve))
  }

  /** Holds back all data on open and new connections (`true`), or delivers it again (`false`). */
  stall (on: boolean): void {
    this.#stalled = on
    if (!on) for (const release of this.#release) release()
  }

  /** The commands held since `from` (an index into {@link held}), probes (`PING`) left out. */
  commandsSince (from: number): string[] {
    return this.held.slice(from).filter((c) => !/^\*1\r\n\$4\r\nping\r\n$/i.test(c))
  }

  #forward (from: net.Socket, to: net.Socket, outbound: boolean): void {
    this.#sockets.add(from)
    const held: Buffer[] = []
    const release = (): void => { for (const chunk of held.splice(0)) to.write(chunk) }
    this.#release.add(release)
    from.on('data', (chunk: Buffer) => {
      if (this.#stalled) {
        held.push(chunk)
        if (outbound) this.held.push(chunk.toString('latin1'))
      } else {
        to.write(chunk)
      }
    })
    from.on('error', () => { from.destroy() })
    from.on('close', () => {
      this.#sockets.delete(from)
      this.#release.delete(release)
      to.destroy()
    })
  }
}
