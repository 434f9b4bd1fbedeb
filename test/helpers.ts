import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { errors } from '../lib/core/errors.js'
import { gatekeeper } from '../lib/gatekeeper.js'
import type { AuthContext, GatekeeperOptions, Strategy } from '../lib/core/types.js'
import { memoryStore } from '../lib/stores/memory.js'

/**
 * A fake strategy for tests: `x-test-user: <subject>[;role,role][;scope,scope]`.
 * `x-test-user: bad` is a present-but-invalid credential.
 */
export function headerStrategy (app: FastifyInstance, name = 'test', scheme = 'Bearer', header = 'x-test-user'): Strategy {
  return {
    name,
    scheme,
    authenticate (request: FastifyRequest): AuthContext | null {
      const value = request.headers[header]
      if (typeof value !== 'string') return null
      if (value === 'bad') throw new errors.GK_TOKEN_INVALID()
      const [subject = '', roles = '', scopes] = value.split(';')
      const roleList = roles === '' ? [] : roles.split(',')
      return {
        strategy: name,
        kind: scopes === undefined ? 'user' : 'application',
        subject,
        roles: roleList,
        permissions: app.gatekeeper.permissionsOf(roleList),
        ...(scopes === undefined ? {} : { scopes: scopes === '' ? [] : scopes.split(',') })
      }
    }
  }
}

/** A Fastify app with the core registered on a memory store and the header strategy. */
export async function coreApp (opts: Partial<GatekeeperOptions> = {}, fastifyOpts: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOpts)
  await app.register(gatekeeper, { store: memoryStore(), ...opts })
  app.gatekeeper.registerStrategy(headerStrategy(app))
  return app
}

/** Captures log lines: pass `stream` to Fastify's logger, read `lines`. */
export function capture (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      cb()
    }
  })
  return { stream, lines }
}

/** A TCP port free on the loopback address right now (for servers a test starts in another process). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** The value below which a share `q` (0–1) of the sorted samples lie. */
export function quantile (samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

/** What {@link compareTimings} found in its last round. */
export interface TimingComparison { a: number, b: number, gap: number, rounds: number }

/**
 * Times two operations in interleaved pairs (alternating which goes first) and
 * compares their lower quartiles: on a busy machine noise only ever adds time,
 * so the lower quartile tracks the work done far better than the mean or even
 * the median. A round whose gap exceeds `maxGap` is measured again, up to
 * `rounds` times: noise passes on a later round, a real difference in work
 * (a skipped hash is a 10× gap, not 20 %) fails every one.
 */
export async function compareTimings (a: () => Promise<void>, b: () => Promise<void>, opts: { tries: number, maxGap: number, rounds?: number }): Promise<TimingComparison> {
  const rounds = opts.rounds ?? 3
  let last: TimingComparison = { a: 0, b: 0, gap: Infinity, rounds: 0 }
  for (let round = 1; round <= rounds; round++) {
    const ta: number[] = []
    const tb: number[] = []
    for (let i = 0; i < opts.tries; i++) {
      for (const [op, series] of (i % 2 === 0 ? [[a, ta], [b, tb]] : [[b, tb], [a, ta]]) as Array<[() => Promise<void>, number[]]>) {
        const started = performance.now()
        await op()
        series.push(performance.now() - started)
      }
    }
    const qa = quantile(ta, 0.25)
    const qb = quantile(tb, 0.25)
    last = { a: qa, b: qb, gap: Math.abs(qa - qb) / Math.max(qa, qb), rounds: round }
    if (last.gap <= opts.maxGap) break
  }
  return last
}
