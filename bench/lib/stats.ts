/**
 * Pure helpers of the benchmark driver: medians, ratios against the bare
 * route, target checks and the printed table. No I/O here, so the quick
 * mode's arithmetic is unit-tested without starting a server.
 */

/** One measurement of one variant: a single autocannon run. */
export interface Sample {
  /** Completed requests per second. */
  rps: number
  /** 99th percentile latency, ms. */
  p99: number
  /** Responses that were not 2xx. */
  non2xx: number
  /** Connection errors and timeouts. */
  errors: number
  /**
   * CPU time the server process spent per request, µs (user + system, from
   * /proc), when known. Less sensitive than req/s to other processes on a
   * busy machine: it counts the server's own work, not its waiting.
   */
  cpuUs?: number
}

/** A variant's medians over the measured rounds and its ratio to the baseline. */
export interface Summary {
  variant: string
  rounds: number
  /** Median requests per second. */
  rps: number
  /** Median of the per-round p99 latencies, ms. */
  p99: number
  /** Median server CPU per request, µs; `NaN` when not measured. */
  cpuUs: number
  /** `baseline cpuUs / cpuUs`: the throughput ratio the server's own CPU cost allows; `NaN` when not measured. */
  cpuRatio: number
  /** `rps / baseline rps` (both medians of this run); `NaN` without a baseline. */
  ratio: number
  /** Non-2xx responses plus errors over every round: anything above 0 voids the row. */
  failures: number
}

/** A throughput target: `variant` must reach `min × against` (medians of one run). */
export interface RatioTarget {
  variant: string
  against: string
  min: number
  /** Where the figure comes from (issue text), printed beside the result. */
  label: string
  /** What decides the status: the req/s ratio (default), or the ratio of server CPU per request (`against µs / variant µs`). */
  metric?: 'rps' | 'cpu'
}

/** The outcome of one target. */
export interface TargetResult {
  label: string
  /** The measured value (a ratio, ms, ops/s or MB), `NaN` when not measured. */
  measured: number
  /** `'pass'`, `'miss'`, or `'n/a'` when a variant of it did not run. */
  status: 'pass' | 'miss' | 'n/a'
  /** How the requirement reads, for the table (`≥ 0.80`, `< 50 ms`). */
  wanted: string
  /** For a ratio target, the same ratio from server CPU per request (`against µs / variant µs`); `NaN` when unknown. */
  cpuMeasured: number
}

/** The median of a list (the mean of the two middle values for an even length); `NaN` when empty. */
export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/**
 * The variants of each round, rotated by one place per round, so that no
 * variant always runs first (when the machine is coolest) or always follows
 * the same neighbour: A B C, B C A, C A B, …
 */
export function schedule<T> (variants: readonly T[], rounds: number): T[][] {
  const out: T[][] = []
  for (let r = 0; r < rounds; r++) {
    const k = variants.length === 0 ? 0 : r % variants.length
    out.push([...variants.slice(k), ...variants.slice(0, k)])
  }
  return out
}

/** Medians per variant and throughput ratios against `baseline`, in the order of `order`. */
export function summarize (samples: ReadonlyMap<string, readonly Sample[]>, baseline: string, order: readonly string[]): Summary[] {
  const base = median((samples.get(baseline) ?? []).map((s) => s.rps))
  const baseCpu = median((samples.get(baseline) ?? []).flatMap((s) => s.cpuUs === undefined ? [] : [s.cpuUs]))
  const out: Summary[] = []
  for (const variant of order) {
    const list = samples.get(variant)
    if (list === undefined || list.length === 0) continue
    const rps = median(list.map((s) => s.rps))
    const cpuUs = median(list.flatMap((s) => s.cpuUs === undefined ? [] : [s.cpuUs]))
    out.push({
      variant,
      rounds: list.length,
      rps,
      p99: median(list.map((s) => s.p99)),
      cpuUs,
      cpuRatio: baseCpu > 0 && cpuUs > 0 ? baseCpu / cpuUs : Number.NaN,
      ratio: base > 0 ? rps / base : Number.NaN,
      failures: list.reduce((n, s) => n + s.non2xx + s.errors, 0)
    })
  }
  return out
}

/** Checks ratio targets against the summaries of one run. */
export function checkRatios (summaries: readonly Summary[], targets: readonly RatioTarget[]): TargetResult[] {
  const byName = new Map(summaries.map((s) => [s.variant, s]))
  return targets.map((t) => {
    const a = byName.get(t.variant)
    const b = byName.get(t.against)
    const wanted = `≥ ${t.min.toFixed(2)}${t.metric === 'cpu' ? ' (CPU)' : ''}`
    if (a === undefined || b === undefined || a.failures > 0 || b.failures > 0 || !(b.rps > 0)) {
      return { label: t.label, measured: Number.NaN, status: 'n/a', wanted, cpuMeasured: Number.NaN }
    }
    const measured = a.rps / b.rps
    const cpuMeasured = a.cpuUs > 0 && b.cpuUs > 0 ? b.cpuUs / a.cpuUs : Number.NaN
    const decisive = t.metric === 'cpu' ? cpuMeasured : measured
    if (!Number.isFinite(decisive)) return { label: t.label, measured, status: 'n/a', wanted, cpuMeasured }
    return { label: t.label, measured, status: decisive >= t.min ? 'pass' : 'miss', wanted, cpuMeasured }
  })
}

/** A target on a single figure: at least `min` or below `max`. */
export function checkValue (label: string, measured: number, bound: { min?: number, max?: number }, unit = ''): TargetResult {
  const wanted = bound.min !== undefined ? `≥ ${bound.min}${unit}` : `< ${bound.max as number}${unit}`
  if (!Number.isFinite(measured)) return { label, measured: Number.NaN, status: 'n/a', wanted, cpuMeasured: Number.NaN }
  const ok = bound.min !== undefined ? measured >= bound.min : measured < (bound.max as number)
  return { label, measured, status: ok ? 'pass' : 'miss', wanted, cpuMeasured: Number.NaN }
}

/** A number for the table: thousands separated, `—` for NaN. */
export function fmt (value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '—'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A Markdown table with padded columns (readable in a terminal, pasteable into docs). */
export function table (headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

/** The table of variants: median req/s, ratio to bare, median p99, rounds. */
export function variantTable (summaries: readonly Summary[]): string {
  return table(['variant', 'req/s (median)', '× bare', 'p99 ms (median)', 'server CPU µs/req', 'CPU-bound × bare', 'rounds', 'failed'], summaries.map((s) => [
    s.variant, fmt(s.rps), fmt(s.ratio, 2), fmt(s.p99, 1), fmt(s.cpuUs, 1), fmt(s.cpuRatio, 2), String(s.rounds), String(s.failures)
  ]))
}

/** The table of targets: the status follows the measured figure; the CPU-based ratio is shown beside it. */
export function targetTable (results: readonly TargetResult[]): string {
  return table(['target', 'wanted', 'measured (req/s)', 'status', 'server CPU ratio'], results.map((r) => [
    r.label, r.wanted, fmt(r.measured, Math.abs(r.measured) < 10 ? 2 : 0), r.status, fmt(r.cpuMeasured, 2)
  ]))
}
