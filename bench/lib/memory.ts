/**
 * `--memory`: RSS of the full-stack server after 1,000,000 requests mixed
 * across its JWT and API-key credentials, with 100,000 distinct well-formed
 * but unknown API keys among them (each reaches the store: caches and
 * anomaly trackers must stay bounded), against its RSS after warm-up.
 */
import autocannon, { type Result } from 'autocannon'
import { generateKey } from '../../lib/api-key/format.js'
import { startServer } from './child.js'
import type { BenchOptions } from './options.js'
import { checkValue, fmt, table, targetTable } from './stats.js'
import { MEMORY_GROWTH_MAX_MB } from './variants.js'
import { verify } from './verify.js'

const MB = 1024 * 1024
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Request `i` of the mix: every 10th an invalid key (the next distinct one), the rest alternating JWT and API key. */
export function mixedHeaders (i: number, jwt: Record<string, string>, key: Record<string, string>, invalid: readonly string[], header: string): Record<string, string> {
  if (i % 10 === 9 && invalid.length > 0) return { [header]: invalid[Math.floor(i / 10) % invalid.length] as string }
  return i % 2 === 0 ? jwt : key
}

async function mixed (url: string, spec: { connections: number, amount?: number, duration?: number }, headersOf: (i: number) => Record<string, string>): Promise<Result> {
  let i = 0
  return await autocannon({
    url,
    connections: spec.connections,
    ...(spec.amount === undefined ? { duration: spec.duration as number } : { amount: spec.amount }),
    timeout: 10,
    requests: [{
      setupRequest (req) {
        req.headers = headersOf(i++)
        return req
      }
    }]
  })
}

/** Runs the memory mode; returns the exit code. */
export async function memoryMode (o: BenchOptions, log: (line: string) => void): Promise<number> {
  const server = await startServer('full')
  try {
    await verify(server)
    const extra = server.info.extra as { apiKey: string, apiKeyHeader: string, apiKeyPrefix: string }
    const url = server.origin + server.info.path
    const jwt = server.info.headers
    const key = { [extra.apiKeyHeader]: extra.apiKey }
    const warmKeys = Array.from({ length: 1000 }, () => generateKey(extra.apiKeyPrefix))
    const invalid = Array.from({ length: o.invalidKeys }, () => generateKey(extra.apiKeyPrefix))
    const rssStart = server.rss()
    log(`memory: warm-up ${o.warmup} s (RSS at start ${fmt(rssStart / MB, 1)} MB)`)
    await mixed(url, { connections: o.connections, duration: o.warmup }, (i) => mixedHeaders(i, jwt, key, warmKeys, extra.apiKeyHeader))
    await sleep(1000)
    const rssWarm = server.rss()
    log(`memory: RSS after warm-up ${fmt(rssWarm / MB, 1)} MB; sending ${fmt(o.memoryRequests)} requests with ${fmt(o.invalidKeys)} distinct invalid keys`)
    let peak = rssWarm
    const t0 = Date.now()
    const timer = setInterval(() => {
      peak = Math.max(peak, server.rss())
      if ((Date.now() - t0) % 30_000 < 1000) log(`memory: ${((Date.now() - t0) / 1000).toFixed(0)} s, RSS ${fmt(server.rss() / MB, 1)} MB`)
    }, 1000)
    const r = await mixed(url, { connections: o.connections, amount: o.memoryRequests }, (i) => mixedHeaders(i, jwt, key, invalid, extra.apiKeyHeader))
    clearInterval(timer)
    await sleep(2000)
    const rssEnd = server.rss()
    peak = Math.max(peak, rssEnd)
    const codes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([c, s]) => [c, s.count]))
    const expected401 = Math.floor(o.memoryRequests / 10)
    const growth = (rssEnd - rssWarm) / MB
    process.stdout.write(`\n## fastify-gatekeeper memory (full stack)\n\n${table(['figure', 'value'], [
      ['requests', fmt(r.requests.total)],
      ['status codes', JSON.stringify(codes)],
      ['duration', `${r.duration.toFixed(1)} s (${fmt(r.requests.total / r.duration)} req/s)`],
      ['RSS after warm-up', `${fmt(rssWarm / MB, 1)} MB`],
      ['RSS after the run (+2 s idle)', `${fmt(rssEnd / MB, 1)} MB`],
      ['RSS peak (sampled every second)', `${fmt(peak / MB, 1)} MB`],
      ['growth over warm-up', `${fmt(growth, 1)} MB`]
    ])}\n\n${targetTable([checkValue('RSS growth over 1,000,000 requests (MB)', growth, { max: MEMORY_GROWTH_MAX_MB }, ' MB')])}\n\n`)
    // Every invalid key must have been refused and every valid credential accepted.
    const ok = (codes['200'] ?? 0) + (codes['401'] ?? 0) === r.requests.total && Math.abs((codes['401'] ?? 0) - expected401) <= o.connections && r.errors === 0
    if (!ok) log(`memory: unexpected answers ${JSON.stringify(codes)}, errors ${r.errors}`)
    return ok && (!o.strict || growth < MEMORY_GROWTH_MAX_MB) ? 0 : 1
  } finally {
    await server.stop()
  }
}
