import t from 'tap'
import { checkRatios, type Summary } from '../../bench/lib/stats.js'

const summary = (variant: string, rps: number, cpuUs: number): Summary => ({ variant, rounds: 5, rps, p99: 1, cpuUs, cpuRatio: Number.NaN, ratio: Number.NaN, failures: 0 })

t.test('a target on server CPU per request passes or misses on the CPU ratio, whatever the req/s ratio says', async (t) => {
  const target = { variant: 'b', against: 'a', min: 0.95, label: 'b / a', metric: 'cpu' as const }
  // b is slower in req/s (a busy machine) but costs the same CPU per request.
  const [pass] = checkRatios([summary('a', 10_000, 100), summary('b', 8000, 101)], [target])
  t.match(pass, { status: 'pass', measured: 0.8 })
  t.ok(Math.abs((pass?.cpuMeasured ?? 0) - 100 / 101) < 1e-9)
  const [miss] = checkRatios([summary('a', 10_000, 100), summary('b', 10_000, 120)], [target])
  t.equal(miss?.status, 'miss')
  const [unknown] = checkRatios([summary('a', 10_000, Number.NaN), summary('b', 10_000, 100)], [target])
  t.equal(unknown?.status, 'n/a', 'no CPU figure: not judged')
  const [rps] = checkRatios([summary('a', 10_000, 100), summary('b', 8000, 100)], [{ ...target, metric: 'rps' }])
  t.equal(rps?.status, 'miss', 'the default metric is req/s')
})
