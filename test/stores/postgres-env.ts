import type { Test } from 'tap'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import net from 'node:net'

/** The database the Postgres suites use; override with GK_TEST_POSTGRES_URL. */
export const POSTGRES_URL = process.env.GK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A schema name no other test run uses. */
export const uniqueSchema = (tag = 'test'): string => `gk_${tag}_${process.pid}_${randomBytes(3).toString('hex')}`

/**
 * True when Postgres answers. Otherwise the suite is skipped with a visible
 * message, except under CI=true where an unreachable Postgres fails the run.
 */
export async function requirePostgres (t: Test): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (err) {
    const reason = `Postgres is not reachable at ${redact(POSTGRES_URL)} (${(err as Error).message})`
    if (process.env.CI === 'true') {
      t.fail(`${reason}; it is required when CI=true`)
    } else {
      t.comment(`SKIPPING the Postgres store tests: ${reason}. Set GK_TEST_POSTGRES_URL to run them (required when CI=true).`)
      t.plan(0, `Postgres store tests skipped: ${reason}`)
    }
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

function redact (url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

/**
 * A TCP proxy in front of Postgres that a test can cut (`stop`), restore
 * (`start` on the same port) or turn into a black hole that accepts
 * connections and never answers.
 */
export class TcpProxy {
  port = 0
  blackhole = false
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  constructor (private readonly target: { host: string, port: number }) {}

  async start (): Promise<number> {
    const server = net.createServer((client) => {
      this.track(client)
      if (this.blackhole) return
      const upstream = net.connect(this.target.port, this.target.host)
      this.track(upstream)
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
    this.port = (server.address() as net.AddressInfo).port
    return this.port
  }

  /** Refuses new connections and cuts every open one. */
  async stop (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    const server = this.server
    this.server = null
    if (server !== null) await new Promise((resolve) => server.close(resolve))
  }

  url (base: string): string {
    const u = new URL(base)
    u.hostname = '127.0.0.1'
    u.port = String(this.port)
    return u.toString()
  }

  private track (s: net.Socket): void {
    this.sockets.add(s)
    s.on('close', () => this.sockets.delete(s))
  }
}
