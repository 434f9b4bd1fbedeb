/**
 * The services a fault suite breaks: its own Postgres (initdb into a temp
 * dir, run as a non-root user) and its own Redis, each on a spare port,
 * never the shared ones. Everything lives under one temp dir; a detached
 * watchdog kills what is left and removes the dir if the test process dies
 * without cleaning up (a tap timeout, a SIGKILL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { freePort } from '../helpers.js'

/** Where the binaries are. */
export interface Tools {
  /** The directory with `initdb` and `postgres`. */
  pgBin: string
  redisServer: string
}

const onPath = (name: string): string | null => {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name)
  }
  return null
}

/** The Postgres server binaries: GK_PG_BIN, else the newest /usr/lib/postgresql/N/bin, else `initdb` on PATH. */
function findPgBin (): string | null {
  const candidates: string[] = []
  if ((process.env.GK_PG_BIN ?? '') !== '') candidates.push(process.env.GK_PG_BIN as string)
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`))
  }
  const initdb = onPath('initdb')
  if (initdb !== null) candidates.push(join(initdb, '..'))
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) ?? null
}

/**
 * The binaries, or `null`. When one is missing the suite fails under
 * CI=true and is skipped, visibly, otherwise.
 */
export function requireTools (t: Test): Tools | null {
  const pgBin = findPgBin()
  const given = process.env.GK_REDIS_SERVER ?? ''
  const redisServer = given !== '' ? (existsSync(given) ? given : null) : onPath('redis-server')
  const missing = [
    ...(pgBin === null ? ['the Postgres server binaries (initdb, postgres; set GK_PG_BIN to their directory)'] : []),
    ...(redisServer === null ? ['redis-server (on PATH, or GK_REDIS_SERVER)'] : [])
  ]
  if (missing.length === 0) return { pgBin: pgBin as string, redisServer: redisServer as string }
  const reason = `the fault suite starts its own Postgres and Redis and cannot find ${missing.join(' nor ')}`
  if (process.env.CI === 'true') {
    t.fail(`${reason}; they are required when CI=true`)
  } else {
    t.comment(`SKIPPING the fault suite: ${reason}. Install them to run it (required when CI=true).`)
    t.plan(0, `fault suite skipped: ${reason}`)
  }
  return null
}

/** A non-root account for Postgres, which refuses to run as root: `postgres`, else `nobody`. */
function serviceAccount (): { uid: number, gid: number } | null {
  if (process.getuid?.() !== 0) return null
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'))
  const entry = passwd.find((f) => f[0] === 'postgres') ?? passwd.find((f) => f[0] === 'nobody')
  if (entry === undefined) throw new Error('running as root, and neither a postgres nor a nobody account exists to run Postgres as')
  return { uid: Number(entry[2]), gid: Number(entry[3]) }
}

// Polls every 500 ms: once the test process is gone, kills every process recorded under
// <root>/pids (a stopped one is continued first, so the kill lands) and removes <root>.
const WATCHDOG = `
const fs = require('node:fs'), path = require('node:path')
const [ppid, root] = process.argv.slice(1)
const alive = (pid) => { try { process.kill(pid, 0); return true } catch (e) { return e.code === 'EPERM' } }
setInterval(() => {
  if (!fs.existsSync(root)) process.exit(0)
  if (alive(Number(ppid))) return
  const dir = path.join(root, 'pids')
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8'))
    for (const sig of ['SIGCONT', 'SIGKILL']) { try { process.kill(pid, sig) } catch {} }
  }
  setTimeout(() => { fs.rmSync(root, { recursive: true, force: true }); process.exit(0) }, 1000)
}, 500)
`

/**
 * One temp dir for a suite's services and processes. `track` records a
 * child for the watchdog; `cleanup` (registered as the suite's teardown)
 * kills every tracked process still running and removes the dir.
 */
export class Sandbox {
  readonly root: string
  readonly #children = new Map<string, ChildProcess>()

  constructor (t: Test, tag: string) {
    this.root = mkdtempSync(join(tmpdir(), `gk-faults-${tag}-`))
    mkdirSync(join(this.root, 'pids'))
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), this.root], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } })
    watchdog.unref()
    // Last resort for an exit that skips teardowns: signals to everything still tracked.
    const onExit = (): void => { for (const child of this.#children.values()) kill(child, 'SIGKILL') }
    process.on('exit', onExit)
    t.teardown(async () => {
      process.removeListener('exit', onExit)
      await this.cleanup()
    })
  }

  /** Records `child` under `name` until it exits. */
  track (name: string, child: ChildProcess): void {
    const file = join(this.root, 'pids', name)
    if (child.pid !== undefined) writeFileSync(file, String(child.pid))
    this.#children.set(name, child)
    child.once('exit', () => {
      if (this.#children.get(name) === child) {
        this.#children.delete(name)
        try { unlinkSync(file) } catch {}
      }
    })
  }

  /** Kills what is still running (continuing stopped ones first) and removes the dir. */
  async cleanup (): Promise<void> {
    await Promise.all([...this.#children.values()].map(async (child) => {
      kill(child, 'SIGCONT')
      kill(child, 'SIGKILL')
      await exited(child, 5000)
    }))
    rmSync(this.root, { recursive: true, force: true })
  }
}

function kill (child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return
  try { child.kill(signal) } catch {}
}

/** Resolves when `child` has exited (at once when it already has), or after `ms`. */
export async function exited (child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** Keeps the last 4 KB a child wrote, for error messages. */
function tail (child: ChildProcess): () => string {
  let text = ''
  const keep = (d: Buffer): void => { text = (text + d.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return () => text
}

async function waitFor (what: string, check: () => Promise<boolean>, ms: number, output: () => string): Promise<void> {
  const deadline = performance.now() + ms
  while (!await check()) {
    if (performance.now() > deadline) throw new Error(`${what} did not start within ${ms} ms:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A Postgres cluster of our own: `initdb` once, then started, stopped and restarted on the same port. */
export class PostgresServer {
  port = 0
  #child: ChildProcess | null = null
  readonly #dir: string
  readonly #account = serviceAccount()

  constructor (private readonly sandbox: Sandbox, private readonly tools: Tools) {
    this.#dir = join(sandbox.root, 'pg')
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url (): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  /** The postmaster's pid while it runs. */
  get pid (): number | undefined {
    return this.#child?.pid
  }

  #spawn (bin: string, args: string[]): ChildProcess {
    return spawn(join(this.tools.pgBin, bin), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', LANG: 'C', LC_ALL: 'C' },
      ...(this.#account ?? {})
    })
  }

  /** Creates the cluster (the first time) and starts the server; resolves when it accepts connections. */
  async start (): Promise<void> {
    if (!existsSync(join(this.#dir, 'PG_VERSION'))) {
      mkdirSync(this.#dir, { mode: 0o700 })
      if (this.#account !== null) {
        chownSync(this.sandbox.root, this.#account.uid, this.#account.gid)
        chownSync(this.#dir, this.#account.uid, this.#account.gid)
      }
      const init = spawnSync(join(this.tools.pgBin, 'initdb'), ['-D', this.#dir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], {
        env: { PATH: process.env.PATH ?? '', LANG: 'C', LC_ALL: 'C' },
        ...(this.#account ?? {}),
        encoding: 'utf8'
      })
      if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}${init.stdout}`)
      this.port = await freePort()
    }
    // fsync off: a stopped or killed postgres still keeps every commit (the OS has the writes); only a machine crash would not.
    const child = this.#spawn('postgres', ['-D', this.#dir, '-p', String(this.port), '-k', this.sandbox.root,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=60'])
    this.sandbox.track('postgres', child)
    this.#child = child
    const output = tail(child)
    await waitFor('postgres', async () => {
      if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${output()}`)
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 })
      client.on('error', () => {})
      try {
        await client.connect()
        await client.query('SELECT 1')
        return true
      } catch {
        return false
      } finally {
        await client.end().catch(() => {})
      }
    }, 30_000, output)
  }

  /**
   * Stops the server: `'immediate'` (SIGQUIT) is a crash, every connection
   * cut and no checkpoint; `'fast'` (SIGINT) rolls back and checkpoints.
   */
  async stop (mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    const child = this.#child
    if (child === null) return
    this.#child = null
    kill(child, mode === 'immediate' ? 'SIGQUIT' : 'SIGINT')
    await exited(child, 15_000)
    kill(child, 'SIGKILL')
    await exited(child)
  }
}

/** A Redis of our own on a spare port: killed (SIGKILL), stalled (SIGSTOP) and restarted. */
export class RedisServer {
  port = 0
  #child: ChildProcess | null = null

  constructor (private readonly sandbox: Sandbox, private readonly tools: Tools) {}

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts it (empty: no persistence); resolves when it answers PING. */
  async start (): Promise<void> {
    if (this.port === 0) this.port = await freePort()
    const child = spawn(this.tools.redisServer, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.sandbox.root],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    this.sandbox.track('redis', child)
    this.#child = child
    const output = tail(child)
    await waitFor('redis-server', async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${output()}`)
      return await ping(this.port)
    }, 15_000, output)
  }

  /** SIGKILL: connections cut, nothing answers until {@link start}. */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === null) return
    this.#child = null
    kill(child, 'SIGCONT')
    kill(child, 'SIGKILL')
    await exited(child)
  }

  /** SIGSTOP (`true`): connected but silent; SIGCONT (`false`): answering again. */
  pause (on: boolean): void {
    if (this.#child !== null) kill(this.#child, on ? 'SIGSTOP' : 'SIGCONT')
  }
}

/** True when a Redis answers PING on `port` within 500 ms. */
async function ping (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')))
  })
}
