/**
 * Login storm: 16 connections hammer `POST /api/login` (argon2id verify on
 * every request) while the JWT route of the same server is measured, in
 * rounds alternating with unloaded measurements of that route.
 */
import type { Server } from './child.js'
import { load } from './load.js'
import type { BenchOptions } from './options.js'
import { median } from './stats.js'

/** Medians of the storm rounds. */
export interface StormResult {
  unloadedRps: number
  unloadedP99: number
  loadedRps: number
  loadedP99: number
  loginRps: number
  loginP99: number
  /** Non-2xx answers and errors on either route. */
  failures: number
}

/** Connections hammering the login route. */
export const STORM_CONNECTIONS = 16

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the storm against a server that announces `extra.login = { path, body }`. */
export async function loginStorm (server: Server, o: BenchOptions, log: (line: string) => void): Promise<StormResult> {
  const login = server.info.extra?.login as { path: string, body: unknown, users?: string[] } | undefined
  if (login === undefined) throw new Error(`${server.variant} announces no login route`)
  // Brute-force protection refuses more than a few attempts in flight on one account (parallel guessing),
  // so the storm logs in as many users in turn, as a real crowd would.
  const base = login.body as Record<string, unknown>
  const bodies = (login.users ?? [base.username as string]).map((username) => JSON.stringify({ ...base, username }))
  const route = { url: server.origin + server.info.path, connections: o.connections, duration: o.duration, headers: server.info.headers }
  const unloaded: Array<{ rps: number, p99: number }> = []
  const loaded: Array<{ rps: number, p99: number }> = []
  const logins: Array<{ rps: number, p99: number }> = []
  let failures = 0
  const rounds = o.mode === 'quick' ? 1 : Math.max(1, Math.min(o.rounds, 3))
  const stormSpec = (duration: number): Parameters<typeof load>[0] => ({
    url: server.origin + login.path,
    method: 'POST',
    connections: STORM_CONNECTIONS,
    duration,
    headers: { 'content-type': 'application/json' },
    bodies
  })
  // The first storm pays for argon2's first allocations: warm the login path like every route.
  const settle = o.mode === 'quick' ? 300 : 1000
  if (o.warmup > 0) {
    await load(stormSpec(o.warmup))
    await sleep(settle)
  }
  for (let r = 0; r < rounds; r++) {
    const quiet = await load(route)
    // The storm starts first and outlasts the measurement on both sides.
    const storm = load(stormSpec(o.duration + 1))
    await sleep(o.mode === 'quick' ? 250 : 500)
    const busy = await load(route)
    const l = await storm
    // Let the last hashes of the storm finish before the next quiet measurement.
    await sleep(settle)
    unloaded.push(quiet)
    loaded.push(busy)
    logins.push(l)
    failures += quiet.non2xx + quiet.errors + busy.non2xx + busy.errors + l.non2xx + l.errors
    log(`storm ${r + 1}/${rounds}: route unloaded ${quiet.rps.toFixed(0)} req/s p99 ${quiet.p99} ms; during storm ${busy.rps.toFixed(0)} req/s p99 ${busy.p99} ms; logins ${l.rps.toFixed(1)}/s p99 ${l.p99} ms${l.non2xx > 0 ? ` (${JSON.stringify(l.statuses)})` : ''}`)
  }
  return {
    unloadedRps: median(unloaded.map((s) => s.rps)),
    unloadedP99: median(unloaded.map((s) => s.p99)),
    loadedRps: median(loaded.map((s) => s.rps)),
    loadedP99: median(loaded.map((s) => s.p99)),
    loginRps: median(logins.map((s) => s.rps)),
    loginP99: median(logins.map((s) => s.p99)),
    failures
  }
}
