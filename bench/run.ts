/**
 * Benchmark driver: `npm run bench` (full), `npm run bench -- --quick` (CI
 * smoke run, under a minute), `npm run bench -- --memory` (RSS over
 * 1,000,000 requests), `npm run bench -- --scale` (cost as routes and rows
 * grow, see lib/scale.ts). Every variant runs in its own process; autocannon
 * drives them in interleaved rounds after a warm-up, and every figure that
 * is compared is a ratio of medians measured in this same run.
 */
import { existsSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT, startServer, type Server } from './lib/child.js'
import { dpopHeaders, type DpopFixture } from './lib/dpop-proofs.js'
import { load } from './lib/load.js'
import { memoryMode } from './lib/memory.js'
import { parseOptions, type BenchOptions } from './lib/options.js'
import { scaleMode } from './lib/scale.js'
import { refreshRotations, storeRotations, type RotationResult } from './lib/rotations.js'
import { checkRatios, checkValue, fmt, schedule, summarize, table, targetTable, variantTable, type Sample, type TargetResult } from './lib/stats.js'
import { loginStorm, type StormResult } from './lib/storm.js'
import { BASELINE, RATIO_TARGETS, SQLITE_ROTATIONS_MIN, STORM_P99_MAX_MS, STORM_RPS_MIN_SHARE, VARIANTS } from './lib/variants.js'
import { verify } from './lib/verify.js'

/** Where `--profile` writes its `.cpuprofile` files (outside the work tree). */
const PROFILE_DIR = path.join(os.tmpdir(), 'gk-bench-profiles')

const log = (line: string): void => { process.stderr.write(`${line}\n`) }

function machine (): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown cpu'}), Node ${process.version}, ${os.platform()} ${os.release()}`
}

async function startAll (names: readonly string[], o: BenchOptions): Promise<{ servers: Map<string, Server>, broken: Map<string, string> }> {
  const servers = new Map<string, Server>()
  const broken = new Map<string, string>()
  // Two at a time: starting ten tsx processes at once on two cores only makes each slower.
  const queue = [...names]
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      // One folder per variant: tsx's loader thread writes a profile of its own beside the main thread's (the larger file).
      const nodeArgs = o.profile.includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, name)}`] : []
      try {
        if (name.startsWith('better-auth-') && !existsSync(path.join(ROOT, 'bench/peers/node_modules/better-auth'))) {
          throw new Error(`${name}: the peers are not installed (npm ci --prefix bench/peers)`)
        }
        const s = await startServer(name, { nodeArgs })
        servers.set(name, s)
        await verify(s)
      } catch (err) {
        broken.set(name, (err as Error).message)
      }
    }
  }
  await Promise.all([worker(), worker()])
  return { servers, broken }
}

async function measureVariants (servers: Map<string, Server>, order: string[], o: BenchOptions): Promise<Map<string, Sample[]>> {
  const spec = (s: Server, duration: number): Parameters<typeof load>[0] => {
    const fixture = s.info.extra?.dpop as DpopFixture | undefined
    return { url: s.origin + s.info.path, connections: o.connections, duration, headers: s.info.headers, ...(fixture === undefined ? {} : { perRequest: dpopHeaders(fixture) }) }
  }
  if (o.warmup > 0) {
    log(`warm-up: ${o.warmup} s per variant`)
    for (const name of order) await load(spec(servers.get(name) as Server, o.warmup))
  }
  const samples = new Map<string, Sample[]>(order.map((n) => [n, []]))
  const rounds = schedule(order, o.rounds)
  for (let r = 0; r < rounds.length; r++) {
    for (const name of rounds[r] as string[]) {
      const server = servers.get(name) as Server
      const cpu0 = server.cpu()
      const s = await load(spec(server, o.duration))
      s.cpuUs = (server.cpu() - cpu0) * 1e6 / Math.max(s.requests, 1)
      samples.get(name)?.push(s)
      log(`round ${r + 1}/${rounds.length} ${name.padEnd(12)} ${fmt(s.rps).padStart(7)} req/s  p99 ${s.p99} ms  ${s.cpuUs.toFixed(1)} µs CPU/req${s.non2xx + s.errors > 0 ? `  FAILED ${JSON.stringify(s.statuses)} errors ${s.errors}` : ''}`)
    }
  }
  return samples
}

async function main (): Promise<number> {
  let o: BenchOptions
  try {
    o = parseOptions(process.argv.slice(2))
  } catch (err) {
    log((err as Error).message)
    return 2
  }
  const started = Date.now()
  if (o.mode === 'memory') return await memoryMode(o, log)
  if (o.mode === 'scale') return await scaleMode(o, log)

  const wanted = VARIANTS.map((v) => v.name).filter((n) => o.only.length === 0 || n === BASELINE || o.only.includes(n))
  const extras = o.variantsOnly ? [] : ['refresh'].filter((n) => o.only.length === 0 || o.only.includes(n))
  log(`fastify-gatekeeper benchmarks, ${o.mode} mode: ${o.rounds} rounds × ${o.duration} s, warm-up ${o.warmup} s, ${o.connections} connections; ${machine()}`)
  const { servers, broken } = await startAll([...wanted, ...extras], o)
  log(`started ${[...servers.keys()].filter((n) => !broken.has(n)).length} server(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  for (const why of broken.values()) log(`not measured: ${why.split('\n').slice(0, 3).join(' | ')}`)

  let exit = 0
  try {
    const order = wanted.filter((n) => servers.has(n) && !broken.has(n))
    if (!order.includes(BASELINE)) throw new Error('the bare variant did not start: nothing to compare against')
    const samples = await measureVariants(servers, order, o)
    const summaries = summarize(samples, BASELINE, order)
    const targets: TargetResult[] = checkRatios(summaries, RATIO_TARGETS)
    if (summaries.some((s) => s.failures > 0)) exit = 1

    let storm: StormResult | null = null
    let rotations: RotationResult[] = []
    const jwtServer = servers.get('jwt-hs256')
    if (!o.variantsOnly && jwtServer !== undefined && !broken.has('jwt-hs256')) {
      storm = await loginStorm(jwtServer, o, log)
      targets.push(checkValue('login storm: JWT route p99 (ms)', storm.loadedP99, { max: STORM_P99_MAX_MS }, ' ms'))
      targets.push(checkValue('login storm: JWT route req/s ÷ unloaded', storm.loadedRps / storm.unloadedRps, { min: STORM_RPS_MIN_SHARE }))
      if (storm.failures > 0) exit = 1
    }
    if (!o.variantsOnly) {
      const refreshServer = servers.get('refresh')
      if (refreshServer !== undefined && !broken.has('refresh')) rotations.push(await refreshRotations(refreshServer, o, log))
      rotations = [...rotations, ...await storeRotations(o, log)]
      const sqlite = rotations.find((r) => r.store === 'sqlite' && r.level === 'http') ?? rotations.find((r) => r.store === 'sqlite')
      targets.push(checkValue(`refresh rotations/s, SQLite (${sqlite?.level ?? 'n/a'})`, sqlite?.perSecond ?? Number.NaN, { min: SQLITE_ROTATIONS_MIN }))
    }

    const out: string[] = []
    out.push(`\n## fastify-gatekeeper benchmarks (${o.mode})\n`)
    out.push(`Machine: ${machine()}. ${o.rounds} interleaved rounds of ${o.duration} s per variant after ${o.warmup} s warm-up, autocannon ${o.connections} connections, ${new Date().toISOString()}.\n`)
    out.push(variantTable(summaries))
    if (storm !== null) {
      out.push('\nLogin storm (16 connections on POST /api/login, JWT route measured meanwhile):\n')
      out.push(table(['', 'req/s (median)', 'p99 ms (median)'], [
        ['JWT route, unloaded', fmt(storm.unloadedRps), fmt(storm.unloadedP99, 1)],
        ['JWT route, during the storm', fmt(storm.loadedRps), fmt(storm.loadedP99, 1)],
        ['POST /api/login, during the storm', fmt(storm.loginRps), fmt(storm.loginP99, 1)]
      ]))
    }
    if (rotations.length > 0) {
      out.push('\nRefresh-token rotations:\n')
      out.push(table(['store', 'level', 'rotations/s', 'concurrency', 'notes'], rotations.map((r) => [r.store, r.level, fmt(r.perSecond), String(r.concurrency), r.note])))
    }
    out.push('\nTargets:\n')
    out.push(targetTable(targets))
    if (broken.size > 0) out.push(`\nNot measured: ${[...broken.keys()].join(', ')}`)
    if (o.profile.length > 0) out.push(`\nCPU profiles: ${PROFILE_DIR}/<variant>/ (summarise the largest with: npx tsx bench/profile.ts <file>)`)
    process.stdout.write(`${out.join('\n')}\n\n`)
    if (o.strict && targets.some((t) => t.status === 'miss')) exit = 1
    if (o.json !== null) writeFileSync(o.json, JSON.stringify({ mode: o.mode, machine: machine(), options: o, summaries, storm, rotations, targets, broken: Object.fromEntries(broken) }, null, 2))
  } catch (err) {
    log(`benchmark failed: ${(err as Error).stack ?? String(err)}`)
    exit = 1
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()))
  }
  if (broken.size > 0 && o.only.length === 0 && o.mode === 'quick') exit = 1
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return exit
}

process.exitCode = await main()
