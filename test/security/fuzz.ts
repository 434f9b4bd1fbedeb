import fc from 'fast-check'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { logLines } from './helpers.js'

/** Cases per target: 10,000 unless `GK_FUZZ_RUNS` says otherwise (CI runs the default). */
export const NUM_RUNS = Number.parseInt(process.env.GK_FUZZ_RUNS ?? '10000', 10)
/** A seed to replay a failure: `GK_FUZZ_SEED=<seed printed by fast-check>`. */
const SEED = process.env.GK_FUZZ_SEED === undefined ? undefined : Number(process.env.GK_FUZZ_SEED)
/** A request that takes longer than this is a hang. */
const HANG_MS = 2000

/** Characters a client can put in a header value (RFC 9110 §5.5: VCHAR, SP, HTAB, obs-text). */
export const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) }
).map((c) => String.fromCharCode(c))
/** A header value. */
export const headerString = (maxLength = 200): fc.Arbitrary<string> => fc.string({ unit: headerChar, maxLength })
/** Characters of base64url and its neighbours, the alphabet tokens are made of. */
export const tokenChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~ %')

/**
 * Mutations of a genuine credential, the way a fuzzer or an attacker edits
 * one: flip, delete, insert, duplicate and truncate characters, change case,
 * swap dot-separated segments.
 */
export function mutate (genuine: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: genuine.length })
  const one = fc.oneof(
    fc.tuple(at, tokenChar).map(([i, c]) => (s: string) => s.slice(0, i) + c + s.slice(i + 1)),
    fc.tuple(at, tokenChar).map(([i, c]) => (s: string) => s.slice(0, i) + c + s.slice(i)),
    fc.tuple(at, fc.nat({ max: 12 })).map(([i, n]) => (s: string) => s.slice(0, i) + s.slice(i + n + 1)),
    fc.tuple(at, headerString(8)).map(([i, x]) => (s: string) => s.slice(0, i) + x + s.slice(i)),
    at.map((i) => (s: string) => s.slice(0, i)),
    at.map((i) => (s: string) => s.slice(0, i) + s.slice(i).toUpperCase()),
    at.map((i) => (s: string) => s.slice(0, i) + s.slice(i).toLowerCase()),
    fc.constant((s: string) => s.split('.').reverse().join('.')),
    fc.constant((s: string) => { const p = s.split('.'); return [p[0], p[0], ...p.slice(1)].join('.') }),
    fc.constant((s: string) => `${s}${s}`)
  )
  return fc.array(one, { minLength: 1, maxLength: 4 }).map((fs) => fs.reduce((s, f) => f(s), genuine))
}

/** Counts what must never happen while a target runs. */
function watchCrashes (): { stop: () => { uncaught: number, errors: number } } {
  let uncaught = 0
  const onError = (): void => { uncaught++ }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
  const from = logLines.length
  return {
    stop () {
      process.off('uncaughtException', onError)
      process.off('unhandledRejection', onError)
      // pino level 50 is error: Fastify logs every 5xx and every thrown handler error there.
      const errors = logLines.slice(from).filter((l) => /"level":(5|6)\d/.test(l)).length
      return { uncaught, errors }
    }
  }
}

async function withDeadline (p: Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms (a hang)`)), HANG_MS) })])
  } finally {
    clearTimeout(timer)
  }
}

/** One fuzz target: how to turn an input into a request, and which inputs are the genuine credential. */
export interface FuzzTarget<T> {
  name: string
  arbitrary: fc.Arbitrary<T>
  request: (input: T) => InjectOptions
  /** True for exactly the inputs that carry the genuine credential (they must get a 2xx). */
  genuine: (input: T) => boolean
  /** Called after each 2xx of a genuine input (a refresh target moves its token on). */
  accepted?: (input: T, res: LightMyRequestResponse) => void
}

/**
 * Runs a target for {@link NUM_RUNS} cases. Property: every answer comes
 * within {@link HANG_MS}, is never a 5xx, is a 2xx exactly for the genuine
 * credential; no request throws, nothing is logged at error level, no
 * exception escapes.
 */
export async function fuzz<T> (t: Test, app: FastifyInstance, target: FuzzTarget<T>): Promise<void> {
  const watch = watchCrashes()
  const started = performance.now()
  let genuineSeen = 0
  const statuses = new Map<number, number>()
  const result = await fc.check(fc.asyncProperty(target.arbitrary, async (input) => {
    const res = await withDeadline(app.inject(target.request(input)))
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (res.statusCode >= 500) throw new Error(`answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
    const ok = res.statusCode >= 200 && res.statusCode < 300
    const genuine = target.genuine(input)
    if (genuine && !ok) throw new Error(`the genuine credential was refused: ${res.statusCode} ${res.body.slice(0, 200)}`)
    if (!genuine && ok) throw new Error(`a 2xx for something that is not the genuine credential: ${res.statusCode}`)
    if (genuine) { genuineSeen++; target.accepted?.(input, res) }
  }), { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true })
  const ms = performance.now() - started
  const crashes = watch.stop()
  const summary = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')
  t.comment(`${target.name}: ${result.numRuns} cases in ${(ms / 1000).toFixed(1)} s (${summary}); ${genuineSeen} genuine`)
  t.notOk(result.failed, result.failed ? `${target.name}: ${fc.defaultReportMessage(result) ?? ''}` : `${target.name}: the property held for ${result.numRuns} cases (2xx exactly for the genuine credential, no 5xx, no hang)`)
  t.equal(result.numRuns, NUM_RUNS, `${target.name}: all ${NUM_RUNS} cases ran`)
  t.equal(crashes.uncaught, 0, `${target.name}: no uncaught exception or unhandled rejection`)
  t.equal(crashes.errors, 0, `${target.name}: nothing logged at error level`)
}
