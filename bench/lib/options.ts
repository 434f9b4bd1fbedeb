/** Command-line options of `bench/run.ts`. */

/** How long and how hard each mode runs. */
export interface BenchOptions {
  mode: 'full' | 'quick' | 'memory' | 'scale'
  /** Seconds of warm-up per variant before the measured rounds. */
  warmup: number
  /** Measured rounds (each runs every variant once). */
  rounds: number
  /** Seconds per measurement. */
  duration: number
  /** autocannon connections. */
  connections: number
  /** Only these variants (plus bare, always measured as the baseline); empty: all. */
  only: string[]
  /** Variants started with `--cpu-prof` (profiles in bench/profiles/). */
  profile: string[]
  /** Requests of the memory mode. */
  memoryRequests: number
  /** Distinct invalid keys mixed into the memory mode. */
  invalidKeys: number
  /** Skip the login storm and refresh measurements. */
  variantsOnly: boolean
  /** Exit non-zero when a target is missed (not only on a broken variant). */
  strict: boolean
  /** Also write the results as JSON to this file. */
  json: string | null
  /** Scale mode: protected route counts. */
  scaleRoutes: number[]
  /** Scale mode: rows per table (users, API keys, refresh sessions). */
  scaleRows: number[]
  /** Scale mode: samples per latency figure. */
  scaleSamples: number
}

/** The presets of each mode. */
export const PRESETS = {
  full: { warmup: 3, rounds: 5, duration: 5 },
  quick: { warmup: 0.3, rounds: 2, duration: 0.5 },
  memory: { warmup: 5, rounds: 0, duration: 0 },
  scale: { warmup: 2, rounds: 3, duration: 3 }
} as const

const USAGE = `usage: tsx bench/run.ts [--quick | --memory | --scale] [--only a,b] [--rounds n] [--duration s] [--warmup s]
                      [--connections n] [--profile a,b] [--variants-only] [--strict] [--json file]
                      [--requests n] [--invalid-keys n] [--rows a,b,c] [--routes a,b,c] [--samples n]`

function number (flag: string, value: string | undefined, min: number): number {
  const n = Number(value)
  if (value === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}\n${USAGE}`)
  return n
}

function list (flag: string, value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') throw new Error(`${flag} needs a comma-separated list of variants\n${USAGE}`)
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

/** Parses `argv` (without node and the script); throws with the usage on a bad flag. */
export function parseOptions (argv: readonly string[]): BenchOptions {
  let mode: BenchOptions['mode'] = 'full'
  if (argv.includes('--quick')) mode = 'quick'
  for (const m of ['memory', 'scale'] as const) {
    if (!argv.includes(`--${m}`)) continue
    if (mode !== 'full') throw new Error(`--quick, --memory and --scale exclude each other\n${USAGE}`)
    mode = m
  }
  const o: BenchOptions = {
    mode,
    ...PRESETS[mode],
    connections: 10,
    only: [],
    profile: [],
    memoryRequests: 1_000_000,
    invalidKeys: 100_000,
    variantsOnly: false,
    strict: false,
    json: null,
    scaleRoutes: [10, 1000, 10_000],
    scaleRows: [1000, 100_000, 1_000_000],
    scaleSamples: 100
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string
    switch (flag) {
      case '--quick': case '--memory': case '--scale': break
      case '--rows': o.scaleRows = list(flag, argv[++i]).map((v) => number(flag, v, 1)); break
      case '--routes': o.scaleRoutes = list(flag, argv[++i]).map((v) => number(flag, v, 1)); break
      case '--samples': o.scaleSamples = number(flag, argv[++i], 1); break
      case '--rounds': o.rounds = number(flag, argv[++i], 1); break
      case '--duration': o.duration = number(flag, argv[++i], 0.2); break
      case '--warmup': o.warmup = number(flag, argv[++i], 0); break
      case '--connections': o.connections = number(flag, argv[++i], 1); break
      case '--requests': o.memoryRequests = number(flag, argv[++i], 1000); break
      case '--invalid-keys': o.invalidKeys = number(flag, argv[++i], 0); break
      case '--only': o.only = list(flag, argv[++i]); break
      case '--profile': o.profile = list(flag, argv[++i]); break
      case '--variants-only': o.variantsOnly = true; break
      case '--strict': o.strict = true; break
      case '--json': {
        const file = argv[++i]
        if (file === undefined || file.startsWith('--')) throw new Error(`--json needs a file name\n${USAGE}`)
        o.json = file
        break
      }
      case '--help': case '-h': throw new Error(USAGE)
      default: throw new Error(`unknown option ${flag}\n${USAGE}`)
    }
  }
  return o
}
