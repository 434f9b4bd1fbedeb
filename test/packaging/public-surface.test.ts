import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { root } from './packed.js'

// The public surface, pinned: for each subpath of package.json `exports`, the
// names its built module exports at run time and the names its .d.ts entry
// exports (values and types). The expected lists in public-surface.json are
// written by hand and reviewed: an export that is not in them fails here.
// A name belongs there only once docs/ documents it (or it is a type users
// need to write code against a documented API: options, services, records).

interface Surface { runtime: string[], declarations: string[] }
interface Entry { types: string, default?: string, import?: string }

const expected = JSON.parse(readFileSync(new URL('./public-surface.json', import.meta.url), 'utf8')) as Record<string, Surface>
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, Entry | string> }
const subpaths = Object.entries(pkg.exports).filter((e): e is [string, Entry] => typeof e[1] !== 'string')

if (!existsSync(join(root, 'dist/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' })

function sorted (names: Iterable<string>): string[] {
  return [...names].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
}

function declarationNames (): Map<string, string[]> {
  const files = subpaths.map(([, entry]) => join(root, entry.types))
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: ['node'], skipLibCheck: true, noEmit: true })
  const checker = program.getTypeChecker()
  const names = new Map<string, string[]>()
  for (const [subpath, entry] of subpaths) {
    const file = program.getSourceFile(join(root, entry.types))
    const symbol = file === undefined ? undefined : checker.getSymbolAtLocation(file)
    names.set(subpath, symbol === undefined ? [] : sorted(checker.getExportsOfModule(symbol).map((s) => s.name)))
  }
  return names
}

t.test('every subpath of package.json exports has a pinned surface, and nothing else does', async (t) => {
  t.same(sorted(subpaths.map(([s]) => s)), sorted(Object.keys(expected)))
})

t.test('run-time exports of each subpath, as the built package gives them', async (t) => {
  for (const [subpath, entry] of subpaths) {
    const file = entry.default ?? entry.import
    if (file === undefined) { t.fail(`${subpath} has no default or import condition`); continue }
    const mod = await import(pathToFileURL(join(root, file)).href) as Record<string, unknown>
    t.same(sorted(Object.keys(mod)), expected[subpath]?.runtime ?? [], `${subpath}: run-time exports (a new one must be documented in docs/ and added to public-surface.json)`)
  }
})

t.test('exported names of each .d.ts entry (values and types)', async (t) => {
  const names = declarationNames()
  for (const [subpath] of subpaths) {
    const got = names.get(subpath) ?? []
    t.ok(got.length > 0, `${subpath}: its .d.ts entry was read`)
    t.same(got, expected[subpath]?.declarations ?? [], `${subpath}: declared exports (a new one must be documented or be a type of a documented API, and added to public-surface.json)`)
    const runtime = expected[subpath]?.runtime ?? []
    t.same(runtime.filter((name) => !got.includes(name)), [], `${subpath}: every run-time export is declared`)
  }
})

t.test('the .d.ts files carry nothing marked @internal (stripInternal)', async (t) => {
  const marked: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.d.ts') && readFileSync(path, 'utf8').includes('@internal')) marked.push(path.slice(root.length))
    }
  }
  walk(join(root, 'dist'))
  t.same(marked, [])
})
