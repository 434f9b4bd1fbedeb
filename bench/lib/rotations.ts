/**
 * Refresh-token rotations per second: over HTTP (`POST` to the refresh
 * route, login once per chain, then each answer's token is the next
 * request's), and at the store (`refreshTokens.consume` with a successor,
 * the transaction every rotation performs) on SQLite and, when reachable,
 * Postgres.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import type { Server } from './child.js'
import type { BenchOptions } from './options.js'

/** One rotation figure. */
export interface RotationResult {
  store: string
  level: 'http' | 'store'
  perSecond: number
  concurrency: number
  note: string
}

const DAY = 86_400_000

function post (agent: http.Agent, origin: string, route: string, body: unknown): Promise<{ status: number, json: Record<string, unknown> }> {
  const data = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = http.request(origin + route, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => {
        let json: Record<string, unknown> = {}
        try { json = JSON.parse(text) as Record<string, unknown> } catch {}
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

/** Over HTTP, against a server that announces `extra.login` and `extra.refresh = { path }`. */
export async function refreshRotations (server: Server, o: BenchOptions, log: (line: string) => void): Promise<RotationResult> {
  const login = server.info.extra?.login as { path: string, body: unknown }
  const refresh = server.info.extra?.refresh as { path: string, store: string }
  const chains = 8
  const agent = new http.Agent({ keepAlive: true, maxSockets: chains })
  const tokens: string[] = []
  for (let i = 0; i < chains; i++) {
    const r = await post(agent, server.origin, login.path, login.body)
    if (r.status !== 200 || typeof r.json.refreshToken !== 'string') throw new Error(`refresh: login answered ${r.status}`)
    tokens.push(r.json.refreshToken)
  }
  const seconds = o.mode === 'full' ? o.duration * 2 : o.duration
  const deadline = performance.now() + seconds * 1000
  const t0 = performance.now()
  let done = 0
  await Promise.all(tokens.map(async (first) => {
    let token = first
    while (performance.now() < deadline) {
      const r = await post(agent, server.origin, refresh.path, { refreshToken: token })
      if (r.status !== 200 || typeof r.json.refreshToken !== 'string') throw new Error(`refresh: rotation answered ${r.status} ${JSON.stringify(r.json)}`)
      token = r.json.refreshToken
      done++
    }
  }))
  agent.destroy()
  const perSecond = done / ((performance.now() - t0) / 1000)
  log(`refresh over HTTP (${refresh.store}): ${perSecond.toFixed(0)} rotations/s`)
  return { store: refresh.store, level: 'http', perSecond, concurrency: chains, note: `POST ${refresh.path}: consume + new access token + new refresh token` }
}

const hash = (token: Buffer): string => createHash('sha256').update(token).digest('hex')

async function rotate (store: GatekeeperStore, seconds: number, chains: number): Promise<number> {
  const user = await store.users.create({ username: `bench-${randomBytes(6).toString('hex')}`, passwordHash: null, roles: ['user'] })
  const expiresAt = (): Date => new Date(Date.now() + DAY)
  const heads: string[] = []
  for (let i = 0; i < chains; i++) {
    const h = hash(randomBytes(32))
    await store.refreshTokens.createFamily({ userId: user.id, expiresAt: new Date(Date.now() + 30 * DAY) }, { hash: h, expiresAt: expiresAt() })
    heads.push(h)
  }
  const t0 = performance.now()
  const deadline = t0 + seconds * 1000
  let done = 0
  await Promise.all(heads.map(async (first) => {
    let current = first
    while (performance.now() < deadline) {
      const next = hash(randomBytes(32))
      const r = await store.refreshTokens.consume(current, new Date(), { hash: next, expiresAt: expiresAt() })
      if (r.status !== 'ok') throw new Error(`consume answered ${r.status}`)
      current = next
      done++
    }
  }))
  return done / ((performance.now() - t0) / 1000)
}

async function postgres (seconds: number, log: (line: string) => void): Promise<RotationResult | null> {
  const url = process.env.GK_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  let mod: { postgresStore?: (o: { connectionString: string }) => GatekeeperStore }
  try {
    mod = await import('../../lib/stores/postgres.js') as typeof mod
  } catch {
    log('refresh on Postgres: not measured (no postgres store module)')
    return null
  }
  if (typeof mod.postgresStore !== 'function') return null
  const pg = (await import('pg')).default
  // A database of its own, so the benchmark never touches the tests' tables.
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await admin.connect()
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'gk_bench'")
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE gk_bench')
  } catch (err) {
    log(`refresh on Postgres: not measured (${(err as Error).message})`)
    return null
  } finally {
    await admin.end().catch(() => {})
  }
  const u = new URL(url)
  u.pathname = '/gk_bench'
  const store = mod.postgresStore({ connectionString: u.toString() })
  try {
    await store.init?.()
    const chains = 8
    const perSecond = await rotate(store, seconds, chains)
    log(`refresh at the Postgres store: ${perSecond.toFixed(0)} rotations/s`)
    return { store: 'postgres', level: 'store', perSecond, concurrency: chains, note: 'consume with successor, one transaction each, local server' }
  } finally {
    await store.close()
  }
}

/** At the store: SQLite (a file, default `synchronous: 'full'`) and Postgres when reachable. */
export async function storeRotations (o: BenchOptions, log: (line: string) => void): Promise<RotationResult[]> {
  const seconds = o.mode === 'full' ? o.duration * 2 : o.duration
  const out: RotationResult[] = []
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-'))
  try {
    const { sqliteStore } = await import('../../lib/stores/sqlite.js')
    // 'full' is the default (a revocation survives a power cut); 'normal' shows what the per-commit fsync costs.
    for (const synchronous of o.mode === 'quick' ? ['full'] as const : ['full', 'normal'] as const) {
      const store = sqliteStore({ filename: path.join(dir, `auth-${synchronous}.db`), synchronous })
      await store.init?.()
      try {
        // Eight sessions rotating at once, as eight clients would: a store may commit them together.
        const perSecond = await rotate(store, seconds, 8)
        log(`refresh at the SQLite store (synchronous '${synchronous}'): ${perSecond.toFixed(0)} rotations/s`)
        out.push({
          store: synchronous === 'full' ? 'sqlite' : 'sqlite (normal)',
          level: 'store',
          perSecond,
          concurrency: 8,
          note: synchronous === 'full' ? "consume with successor, file on disk, synchronous 'full' (default)" : "same, synchronous 'normal' (not the default: the last commits may be lost on power loss)"
        })
      } finally {
        await store.close()
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const pg = await postgres(seconds, log)
  if (pg !== null) out.push(pg)
  return out
}
