/** autocannon, run from the driver against one server. */
import autocannon from 'autocannon'
import type { Sample } from './stats.js'

/** One load run. */
export interface LoadSpec {
  url: string
  connections: number
  /** Seconds. */
  duration: number
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Bodies sent in turn, one per request (overrides `body`). */
  bodies?: readonly string[]
  /** Headers made afresh for every request (a DPoP proof), added to `headers`. */
  perRequest?: () => Record<string, string>
}

function rotating (bodies: readonly string[]): { setupRequest: (req: { body?: string }) => { body?: string } } {
  let i = 0
  return {
    setupRequest (req) {
      req.body = bodies[i++ % bodies.length]
      return req
    }
  }
}

function fresh (make: () => Record<string, string>): { setupRequest: (req: { headers?: Record<string, string> }) => { headers?: Record<string, string> } } {
  return {
    setupRequest (req) {
      req.headers = { ...req.headers, ...make() }
      return req
    }
  }
}

/** Runs autocannon and reduces its result to a {@link Sample}. */
export async function load (spec: LoadSpec): Promise<Sample & { requests: number, statuses: Record<string, number> }> {
  const r = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    method: spec.method ?? 'GET',
    headers: spec.headers ?? {},
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(spec.bodies === undefined ? {} : { requests: [rotating(spec.bodies)] }),
    ...(spec.perRequest === undefined ? {} : { requests: [fresh(spec.perRequest)] }),
    timeout: 10
  })
  const statuses: Record<string, number> = {}
  for (const [code, s] of Object.entries(r.statusCodeStats)) statuses[code] = s.count
  // requests.total / duration rather than the per-second average: runs of 1 s have a single per-second sample.
  return { rps: r.requests.total / Math.max(r.duration, 0.01), p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts, requests: r.requests.total, statuses }
}
