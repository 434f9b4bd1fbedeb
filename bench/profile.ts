/**
 * Summarises a `.cpuprofile` (written by `--profile <variant>`): the
 * functions with the most self time and the most inclusive time, so the
 * hot path of a variant can be read without a flame-graph viewer.
 *
 *   npx tsx bench/profile.ts /tmp/gk-bench-profiles/jwt-rbac/CPU.*.cpuprofile (the largest file: the main thread) [--filter lib/] [--top 25]
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount: number
  children?: number[]
}

const args = process.argv.slice(2)
const file = args.find((a) => !a.startsWith('--'))
if (file === undefined) {
  process.stderr.write('usage: tsx bench/profile.ts <file.cpuprofile> [--filter text] [--top n]\n')
  process.exit(2)
}
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i === -1 ? undefined : args[i + 1] }
const filter = opt('--filter')
const top = Number(opt('--top') ?? 25)

const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[], startTime: number, endTime: number, samples: number[] }
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const total = profile.nodes.reduce((s, n) => s + n.hitCount, 0)
const label = (n: Node): string => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|lib|bench)\//, '$1/')
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
for (const n of profile.nodes) {
  if (n.hitCount === 0) continue
  const l = label(n)
  self.set(l, (self.get(l) ?? 0) + n.hitCount)
  // Each frame on the stack once, however often it recurses.
  const seen = new Set<string>()
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    const f = label(byId.get(id) as Node)
    if (seen.has(f)) continue
    seen.add(f)
    inclusive.set(f, (inclusive.get(f) ?? 0) + n.hitCount)
  }
}

const print = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title} (of ${total} samples)\n`)
  const rows = [...m.entries()].filter(([l]) => filter === undefined || l.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [l, c] of rows) process.stdout.write(`${(100 * c / total).toFixed(1).padStart(5)}%  ${l}\n`)
}
print('self time', self)
print('inclusive time', inclusive)
