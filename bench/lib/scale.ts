/**
 * `npm run bench -- --scale`: how cost grows with the work.
 *
 * - Routes: server CPU per request and start-up time (register + ready) with
 *   10, 1,000 and 10,000 protected routes (the `routes` variant, each in its
 *   own process, measured in interleaved rounds like the variants), beside
 *   the same routes on bare Fastify, so the growth Fastify's router brings is
 *   told apart from the gatekeeper's.
 * - Data: on SQLite (a file) and Postgres, with 1,000 / 100,000 / 1,000,000
 *   users, API keys and live refresh sessions in the tables: login latency
 *   (p50/p99 of real logins, argon2 included), API-key verification when the
 *   cache misses (each key's first request), and refresh rotation latency at
 *   the store. The filler rows are written with SQL in bulk (users share one
 *   real argon2 hash; keys and tokens carry random hashes), then the measured
 *   users, keys and sessions are made through the library's own API.
 *
 * Each per-request or per-operation curve is classed by the ratio of its
 * median at the largest size to the smallest: below 1.5 flat, below 10
 * logarithmic (a B-tree deeper by a level or two), otherwise linear.
 * Start-up is a fixed cost plus a cost per route, given as that slope.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'
import { gatekeeper } from '../../lib/index.js'
import { apiKey } from '../../lib/api-key/index.js'
import { jwt } from '../../lib/jwt/index.js'
import { postgresStore } from '../../lib/stores/postgres.js'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { startServer, type Server } from './child.js'
import { load } from './load.js'
import type { BenchOptions } from './options.js'
import { AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET } from './server.js'
import { fmt, median, table } from './stats.js'

const DAY = 86_400_000
const PASSWORD = 'scale-password-not-secret'

/** The curve a growth ratio (largest size ÷ smallest) makes. */
export function curve (ratio: number): 'flat' | 'logarithmic' | 'linear' | '—' {
  if (!Number.isFinite(ratio)) return '—'
  return ratio < 1.5 ? 'flat' : ratio < 10 ? 'logarithmic' : 'linear'
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN
}

async function timed (fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

/** Routes: CPU per request and start-up at each size, with the gatekeeper and on bare Fastify. */
async function routes (o: BenchOptions, log: (line: string) => void): Promise<string> {
  const sizes = o.scaleRoutes
  const runs = sizes.flatMap((n) => [{ n, bare: false }, { n, bare: true }])
  const key = (r: { n: number, bare: boolean }): string => `${r.bare ? 'bare' : 'gatekeeper'} ${r.n}`
  const servers = new Map<string, Server>()
  try {
    for (const r of runs) {
      servers.set(key(r), await startServer('routes', { env: { GK_BENCH_ROUTES: String(r.n), GK_BENCH_BARE: r.bare ? '1' : '0' }, timeoutMs: 300_000 }))
    }
    const spec = (s: Server, duration: number): Parameters<typeof load>[0] =>
      ({ url: s.origin + s.info.path, connections: o.connections, duration, headers: s.info.headers })
    for (const s of servers.values()) await load(spec(s, o.warmup))
    const cpu = new Map<string, number[]>(runs.map((r) => [key(r), []]))
    for (let round = 0; round < o.rounds; round++) {
      for (const r of runs) {
        const s = servers.get(key(r)) as Server
        const c0 = s.cpu()
        const res = await load(spec(s, o.duration))
        if (res.non2xx + res.errors > 0) throw new Error(`${key(r)} routes: ${JSON.stringify(res.statuses)}`)
        const us = (s.cpu() - c0) * 1e6 / Math.max(res.requests, 1)
        cpu.get(key(r))?.push(us)
        log(`scale routes, ${key(r).padEnd(16)}: ${fmt(res.rps)} req/s, ${us.toFixed(1)} µs CPU/req`)
      }
    }
    const cpuOf = (n: number, bare: boolean): number => median(cpu.get(key({ n, bare })) ?? [])
    const startOf = (n: number, bare: boolean): number => servers.get(key({ n, bare }))?.info.extra?.startupMs as number
    const rows = sizes.map((n) => [fmt(n), fmt(cpuOf(n, false), 1), fmt(cpuOf(n, true), 1), fmt(startOf(n, false), 0), fmt(startOf(n, true), 0)])
    const first = sizes[0] as number
    const last = sizes[sizes.length - 1] as number
    const growth = (f: (n: number, bare: boolean) => number, bare: boolean): string => {
      const ratio = f(last, bare) / f(first, bare)
      return `× ${fmt(ratio, 2)} (${curve(ratio)})`
    }
    // Start-up is a fixed cost plus a cost per route: the slope is the figure that grows.
    const slope = (bare: boolean): string => `+ ${fmt((startOf(last, bare) - startOf(first, bare)) / (last - first), 3)} ms per route (linear)`
    rows.push([`${fmt(last)} ÷ ${fmt(first)}`, growth(cpuOf, false), growth(cpuOf, true), slope(false), slope(true)])
    return table(['protected routes', 'gatekeeper CPU µs/req', 'bare Fastify CPU µs/req', 'gatekeeper start-up ms', 'bare Fastify start-up ms'], rows)
  } finally {
    await Promise.all([...servers.values()].map(async (s) => await s.stop()))
  }
}

/** Bulk writers of filler rows, per store. */
interface Filler {
  users (n: number, passwordHash: string): Promise<void>
  apiKeys (n: number, ownerId: string): Promise<void>
  sessions (n: number, userId: string): Promise<void>
}

function sqliteFiller (file: string): Filler & { close: () => void } {
  const db = new Database(file)
  const now = Date.now()
  const series = (n: number): string => `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${n})`
  return {
    async users (n, hash) {
      db.prepare(`${series(n)} INSERT INTO gk_users (id, username, login, password_hash, roles, disabled, created_at, updated_at)
        SELECT 'fill-u-' || i, 'scale-user-' || i, 'scale-user-' || i, ?, '["user"]', 0, ${now}, ${now} FROM c`).run(hash)
    },
    async apiKeys (n, owner) {
      db.prepare(`${series(n)} INSERT INTO gk_api_keys (id, owner_id, name, start, hash, scopes, created_at)
        SELECT 'fill-k-' || i, ?, 'filler', 'fill', lower(hex(randomblob(32))), '[]', ${now} FROM c`).run(owner)
    },
    async sessions (n, user) {
      db.prepare(`${series(n)} INSERT INTO gk_refresh_families (id, user_id, created_at, last_used_at, expires_at)
        SELECT 'fill-f-' || i, ?, ${now}, ${now}, ${now + 30 * DAY} FROM c`).run(user)
      db.prepare(`${series(n)} INSERT INTO gk_refresh_tokens (id, hash, family_id, user_id, created_at, expires_at)
        SELECT 'fill-t-' || i, lower(hex(randomblob(32))), 'fill-f-' || i, ?, ${now}, ${now + DAY} FROM c`).run(user)
    },
    close: () => db.close()
  }
}

function postgresFiller (client: pg.Client, schema: string): Filler {
  const q = async (sql: string, params: unknown[]): Promise<void> => { await client.query(sql, params) }
  return {
    async users (n, hash) {
      await q(`INSERT INTO ${schema}.gk_users (id, username, login, password_hash, roles, disabled, created_at, updated_at)
        SELECT 'fill-u-' || i, 'scale-user-' || i, 'scale-user-' || i, $2, '{user}', false, now(), now() FROM generate_series(1, $1::int) i`, [n, hash])
    },
    async apiKeys (n, owner) {
      await q(`INSERT INTO ${schema}.gk_api_keys (id, owner_id, name, start, hash, created_at)
        SELECT 'fill-k-' || i, $2, 'filler', 'fill', md5(random()::text) || md5(i::text), now() FROM generate_series(1, $1::int) i`, [n, owner])
    },
    async sessions (n, user) {
      await q(`INSERT INTO ${schema}.gk_refresh_families (id, user_id, created_at, last_used_at, expires_at)
        SELECT 'fill-f-' || i, $2, now(), now(), now() + interval '30 days' FROM generate_series(1, $1::int) i`, [n, user])
      await q(`INSERT INTO ${schema}.gk_refresh_tokens (id, hash, family_id, user_id, created_at, expires_at)
        SELECT 'fill-t-' || i, md5(random()::text) || md5(i::text), 'fill-f-' || i, $2, now(), now() + interval '1 day' FROM generate_series(1, $1::int) i`, [n, user])
    }
  }
}

/** One measurement of the data curves. */
interface DataRow { store: string, size: number, fillS: number, login: number[], keyMiss: number[], rotate: number[] }

async function app (store: GatekeeperStore): Promise<FastifyInstance> {
  const a = Fastify({ logger: false })
  await a.register(gatekeeper, { store })
  await a.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE })
  await a.register(apiKey, { prefix: 'gk' })
  a.get(BENCH_PATH, { config: { auth: 'apiKey' } }, handler)
  await a.ready()
  return a
}

async function measureData (name: string, size: number, store: GatekeeperStore, filler: Filler, samples: number): Promise<DataRow> {
  const a = await app(store)
  try {
    const owner = await a.gatekeeper.users!.create({ username: `scale-owner-${randomBytes(4).toString('hex')}`, password: PASSWORD, roles: ['user'] })
    const hash = (await store.users.findById(owner.id))?.passwordHash as string
    const t0 = performance.now()
    await filler.users(size, hash)
    await filler.apiKeys(size, owner.id)
    await filler.sessions(size, owner.id)
    const fillS = (performance.now() - t0) / 1000
    const login: number[] = []
    for (let i = 0; i < samples; i++) {
      const username = `scale-user-${1 + Math.floor(Math.random() * size)}`
      login.push(await timed(async () => {
        const r = await a.inject({ method: 'POST', url: '/api/login', payload: { username, password: PASSWORD } })
        if (r.statusCode !== 200) throw new Error(`login ${username}: ${r.statusCode} ${r.body}`)
      }))
    }
    const keys: string[] = []
    for (let i = 0; i < samples; i++) keys.push((await a.gatekeeper.apiKeys!.create({ ownerId: owner.id, name: `scale-${i}` })).key)
    const keyMiss: number[] = []
    for (const key of keys) {
      keyMiss.push(await timed(async () => {
        const r = await a.inject({ method: 'GET', url: BENCH_PATH, headers: { 'x-api-key': key } })
        if (r.statusCode !== 200) throw new Error(`api key: ${r.statusCode} ${r.body}`)
      }))
    }
    const heads: string[] = []
    for (let i = 0; i < samples; i++) {
      const h = randomBytes(32).toString('hex')
      await store.refreshTokens.createFamily({ userId: owner.id, expiresAt: new Date(Date.now() + 30 * DAY) }, { hash: h, expiresAt: new Date(Date.now() + DAY) })
      heads.push(h)
    }
    const rotate: number[] = []
    for (const h of heads) {
      rotate.push(await timed(async () => {
        const r = await store.refreshTokens.consume(h, new Date(), { hash: randomBytes(32).toString('hex'), expiresAt: new Date(Date.now() + DAY) })
        if (r.status !== 'ok') throw new Error(`rotation: ${r.status}`)
      }))
    }
    return { store: name, size, fillS, login, keyMiss, rotate }
  } finally {
    await a.close()
  }
}

async function data (o: BenchOptions, log: (line: string) => void): Promise<string> {
  const rows: DataRow[] = []
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-scale-'))
  try {
    for (const size of o.scaleRows) {
      const file = path.join(dir, `scale-${size}.db`)
      const store = sqliteStore({ filename: file })
      await store.init?.()
      const filler = sqliteFiller(file)
      try {
        rows.push(await measureData('sqlite', size, store, filler, o.scaleSamples))
      } finally {
        filler.close()
        // store.close() comes from the app's onClose; a second close is harmless.
        await store.close()
      }
      log(`scale sqlite ${fmt(size)}: done`)
      rmSync(file, { force: true })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const url = process.env.GK_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  let pgReady = false
  try {
    await admin.connect()
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'gk_bench'")
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE gk_bench')
    pgReady = true
  } catch (err) {
    log(`scale on Postgres: not measured (${(err as Error).message})`)
  } finally {
    await admin.end().catch(() => {})
  }
  if (pgReady) {
    const u = new URL(url)
    u.pathname = '/gk_bench'
    for (const size of o.scaleRows) {
      const schema = 'gk_scale'
      const client = new pg.Client({ connectionString: u.toString() })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      const store = postgresStore({ connectionString: u.toString(), schema })
      try {
        await store.init?.()
        rows.push(await measureData('postgres', size, store, postgresFiller(client, schema), o.scaleSamples))
      } finally {
        await store.close()
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
        await client.end()
      }
      log(`scale postgres ${fmt(size)}: done`)
    }
  }
  const out = rows.map((r) => [r.store, fmt(r.size), fmt(r.fillS, 1),
    `${fmt(percentile(r.login, 0.5), 1)} / ${fmt(percentile(r.login, 0.99), 1)}`,
    `${fmt(percentile(r.keyMiss, 0.5), 2)} / ${fmt(percentile(r.keyMiss, 0.99), 2)}`,
    `${fmt(percentile(r.rotate, 0.5), 2)} / ${fmt(percentile(r.rotate, 0.99), 2)}`])
  for (const store of ['sqlite', 'postgres']) {
    const mine = rows.filter((r) => r.store === store)
    const a = mine[0]
    const b = mine[mine.length - 1]
    if (a === undefined || b === undefined || a === b) continue
    const g = (f: (r: DataRow) => number[]): string => {
      const ratio = percentile(f(b), 0.5) / percentile(f(a), 0.5)
      return `× ${fmt(ratio, 2)} (${curve(ratio)})`
    }
    out.push([store, `${fmt(b.size)} ÷ ${fmt(a.size)}`, '', g((r) => r.login), g((r) => r.keyMiss), g((r) => r.rotate)])
  }
  return table(['store', 'rows per table', 'fill s', 'login p50 / p99 ms', 'API key, cache miss p50 / p99 ms', 'refresh rotation p50 / p99 ms'], out)
}

/** Runs the scale mode and prints its tables (markdown). */
export async function scaleMode (o: BenchOptions, log: (line: string) => void): Promise<number> {
  const started = Date.now()
  log(`scale mode: routes ${o.scaleRoutes.join(', ')}; rows ${o.scaleRows.join(', ')}; ${o.scaleSamples} samples per figure`)
  const out: string[] = ['\n## fastify-gatekeeper benchmarks (scale)\n']
  out.push(`${o.rounds} interleaved rounds of ${o.duration} s per route count, autocannon ${o.connections} connections, ${new Date().toISOString()}.\n`)
  out.push(await routes(o, log))
  out.push(`\nData (${o.scaleSamples} samples each; growth is the median at the largest size ÷ at the smallest):\n`)
  out.push(await data(o, log))
  process.stdout.write(`${out.join('\n')}\n\n`)
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return 0
}
