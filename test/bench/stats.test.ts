import { existsSync } from 'node:fs'
import t from 'tap'
import { curve } from '../../bench/lib/scale.js'
import { parseOptions, PRESETS } from '../../bench/lib/options.js'
import { formatReady, parseReady, READY_PREFIX } from '../../bench/lib/protocol.js'
import { checkRatios, checkValue, fmt, median, schedule, summarize, table, type Sample } from '../../bench/lib/stats.js'
import { RATIO_TARGETS, VARIANTS, variantCommand } from '../../bench/lib/variants.js'

const s = (rps: number, p99 = 1, non2xx = 0, cpuUs?: number): Sample => ({ rps, p99, non2xx, errors: 0, ...(cpuUs === undefined ? {} : { cpuUs }) })

t.test('the median of an odd list is its middle value, of an even list the mean of the two middle values', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.equal(median([7]), 7)
  t.ok(Number.isNaN(median([])))
})

t.test('the median does not reorder the caller\'s list', async (t) => {
  const list = [3, 1, 2]
  median(list)
  t.same(list, [3, 1, 2])
})

t.test('each round runs every variant once, the order rotated by one place per round', async (t) => {
  t.same(schedule(['a', 'b', 'c'], 4), [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'], ['a', 'b', 'c']])
  t.same(schedule([], 2), [[], []])
})

t.test('ratios are medians over medians of the same run, in the order asked for', async (t) => {
  const samples = new Map([
    ['bare', [s(100), s(120), s(80)]],
    ['jwt', [s(90, 3), s(40, 9), s(85, 4)]],
    ['missing', []]
  ])
  const out = summarize(samples, 'bare', ['jwt', 'bare', 'missing', 'absent'])
  t.same(out.map((r) => r.variant), ['jwt', 'bare'])
  t.equal(out[0]?.rps, 85)
  t.equal(out[0]?.p99, 4)
  t.equal(out[0]?.ratio, 0.85)
  t.equal(out[1]?.ratio, 1)
  t.equal(out[0]?.failures, 0)
})

t.test('the CPU ratio is the baseline\'s CPU per request over the variant\'s, NaN when CPU was not measured', async (t) => {
  const samples = new Map([
    ['bare', [s(100, 1, 0, 20), s(100, 1, 0, 30)]],
    ['jwt', [s(90, 1, 0, 50)]],
    ['blind', [s(90)]]
  ])
  const out = summarize(samples, 'bare', ['bare', 'jwt', 'blind'])
  t.equal(out[0]?.cpuUs, 25)
  t.equal(out[1]?.cpuRatio, 0.5)
  t.ok(Number.isNaN(out[2]?.cpuUs))
  t.ok(Number.isNaN(out[2]?.cpuRatio))
  const [target] = checkRatios(out, [{ variant: 'jwt', against: 'bare', min: 0.8, label: 'jwt' }])
  t.equal(target?.cpuMeasured, 0.5)
  t.equal(target?.status, 'pass', 'the status follows req/s, as the targets are stated')
})

t.test('without a baseline every ratio is NaN', async (t) => {
  const out = summarize(new Map([['jwt', [s(10)]]]), 'bare', ['jwt'])
  t.ok(Number.isNaN(out[0]?.ratio))
})

t.test('ratio targets pass, miss, or are n/a when a variant is absent or answered anything but 2xx', async (t) => {
  const samples = new Map([['bare', [s(100)]], ['fast', [s(90)]], ['slow', [s(50)]], ['broken', [s(200, 1, 3)]]])
  const sums = summarize(samples, 'bare', ['bare', 'fast', 'slow', 'broken'])
  const results = checkRatios(sums, [
    { variant: 'fast', against: 'bare', min: 0.8, label: 'fast' },
    { variant: 'slow', against: 'bare', min: 0.8, label: 'slow' },
    { variant: 'broken', against: 'bare', min: 0.8, label: 'broken' },
    { variant: 'gone', against: 'bare', min: 0.8, label: 'gone' }
  ])
  t.same(results.map((r) => [r.label, r.status]), [['fast', 'pass'], ['slow', 'miss'], ['broken', 'n/a'], ['gone', 'n/a']])
  t.equal(results[0]?.measured, 0.9)
  t.equal(results[0]?.wanted, '≥ 0.80')
})

t.test('value targets compare against a lower or an upper bound', async (t) => {
  t.equal(checkValue('p99', 12, { max: 50 }, ' ms').status, 'pass')
  t.equal(checkValue('p99', 50, { max: 50 }, ' ms').status, 'miss')
  t.equal(checkValue('p99', 12, { max: 50 }, ' ms').wanted, '< 50 ms')
  t.equal(checkValue('rot', 1000, { min: 1000 }).status, 'pass')
  t.equal(checkValue('rot', 999, { min: 1000 }).status, 'miss')
  t.equal(checkValue('rot', Number.NaN, { min: 1000 }).status, 'n/a')
})

t.test('the table pads every column to its widest cell', async (t) => {
  t.equal(table(['a', 'bb'], [['ccc', 'd']]), '| a   | bb |\n|-----|----|\n| ccc | d  |')
  t.equal(fmt(12345.678), '12,346')
  t.equal(fmt(0.8512, 2), '0.85')
  t.equal(fmt(Number.NaN), '—')
})

t.test('a ready line round-trips, and anything else on stdout is not one', async (t) => {
  const info = { port: 4321, path: '/bench', headers: { authorization: 'Bearer x' }, protected: true }
  const line = formatReady(info)
  t.ok(line.endsWith('\n'))
  t.same(parseReady(line.trimEnd()), info)
  const rows: Array<[string, string]> = [
    ['a log line', '{"level":30,"msg":"hi"}'],
    ['bad JSON', `${READY_PREFIX}{`],
    ['port 0', `${READY_PREFIX}{"port":0,"path":"/b","headers":{},"protected":false}`],
    ['port too high', `${READY_PREFIX}{"port":70000,"path":"/b","headers":{},"protected":false}`],
    ['relative path', `${READY_PREFIX}{"port":1,"path":"b","headers":{},"protected":false}`],
    ['no headers', `${READY_PREFIX}{"port":1,"path":"/b","protected":false}`],
    ['no protected flag', `${READY_PREFIX}{"port":1,"path":"/b","headers":{}}`],
    ['null', `${READY_PREFIX}null`]
  ]
  for (const [name, text] of rows) t.equal(parseReady(text), null, name)
})

t.test('the quick mode is short, the full mode is the default, and flags override the preset', async (t) => {
  const full = parseOptions([])
  t.equal(full.mode, 'full')
  t.equal(full.rounds, PRESETS.full.rounds)
  const quick = parseOptions(['--quick'])
  t.equal(quick.mode, 'quick')
  // Per variant: warm-up plus rounds × duration; ten variants must leave room for start-up, storm and rotations in 60 s.
  t.ok(quick.warmup + quick.rounds * quick.duration <= 3)
  const custom = parseOptions(['--quick', '--rounds', '3', '--only', 'jwt-hs256,api-key', '--json', 'out.json', '--strict'])
  t.equal(custom.rounds, 3)
  t.same(custom.only, ['jwt-hs256', 'api-key'])
  t.equal(custom.json, 'out.json')
  t.equal(custom.strict, true)
  t.equal(parseOptions(['--memory', '--requests', '5000']).memoryRequests, 5000)
})

t.test('a bad flag is refused with the usage', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['--rounds'], /--rounds needs a number/],
    [['--rounds', '0'], /--rounds needs a number ≥ 1/],
    [['--duration', 'x'], /--duration needs a number/],
    [['--only', ''], /--only needs a comma-separated list/],
    [['--json'], /--json needs a file name/],
    [['--quick', '--memory'], /exclude each other/],
    [['--fast'], /unknown option --fast/]
  ]
  for (const [argv, message] of rows) t.throws(() => parseOptions(argv), { message }, argv.join(' '))
})

t.test('every target names variants that exist', async (t) => {
  const names = new Set(VARIANTS.map((v) => v.name))
  for (const target of RATIO_TARGETS) {
    t.ok(names.has(target.variant), target.variant)
    t.ok(names.has(target.against), target.against)
  }
})

t.test('the scale mode takes its sizes from flags and excludes the other modes', async (t) => {
  const scale = parseOptions(['--scale'])
  t.equal(scale.mode, 'scale')
  t.same(scale.scaleRoutes, [10, 1000, 10_000])
  t.same(scale.scaleRows, [1000, 100_000, 1_000_000])
  const small = parseOptions(['--scale', '--rows', '10,20', '--routes', '5', '--samples', '7'])
  t.same(small.scaleRows, [10, 20])
  t.same(small.scaleRoutes, [5])
  t.equal(small.scaleSamples, 7)
  t.throws(() => parseOptions(['--scale', '--memory']), { message: /exclude each other/ })
  t.throws(() => parseOptions(['--scale', '--rows', '10,x']), { message: /--rows needs a number/ })
})

t.test('a growth ratio is classed flat, logarithmic or linear', async (t) => {
  t.equal(curve(1.2), 'flat')
  t.equal(curve(3), 'logarithmic')
  t.equal(curve(40), 'linear')
  t.equal(curve(Number.NaN), '—')
})

t.test('our variants run under tsx from bench/servers, the peers as plain JavaScript from their own package', async (t) => {
  t.same(variantCommand('jwt-hs256'), ['--import', 'tsx', 'bench/servers/jwt-hs256.ts'])
  t.same(variantCommand('better-auth-cookie-cache'), ['bench/peers/servers/better-auth.mjs', 'cookie-cache'])
  for (const v of VARIANTS) {
    const file = variantCommand(v.name).find((a) => a.startsWith('bench/')) as string
    t.ok(existsSync(new URL(`../../${file}`, import.meta.url)), `${v.name}: ${file} exists`)
  }
})
