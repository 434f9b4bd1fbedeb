import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Program } from './programs.js'
import { bare, readerEnv } from './run.js'

/**
 * The compiler options of a consumer who starts a strict ESM project on Node:
 * the package is seen through its `exports` and published `.d.ts` files only.
 */
export const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    esModuleInterop: true,
    rootDir: 'src',
    outDir: 'out'
  },
  include: ['src']
}

/**
 * A folder that looks like a consumer's project: `package.json` with
 * `"type": "module"`, and a `node_modules` where `fastify-gatekeeper` is this
 * repository (its built `dist/`) and every other package is the repository's own copy.
 */
export function makeConsumer (root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gk-docs-'))
  const modules = join(dir, 'node_modules')
  mkdirSync(modules)
  const ours = realpathSync(join(root, 'node_modules'))
  for (const name of readdirSync(ours)) {
    if (name.startsWith('.')) continue
    symlinkSync(join(ours, name), join(modules, name))
  }
  symlinkSync(root, join(modules, 'fastify-gatekeeper'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'docs-consumer', private: true, type: 'module' }, null, 2))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG, null, 2))
  mkdirSync(join(dir, 'src'))
  return dir
}

/** Writes the programs into the consumer's `src/`. */
export function writePrograms (dir: string, programs: Program[]): void {
  for (const p of programs) writeFileSync(join(dir, 'src', p.name), p.code)
}

/** One compiler diagnostic, mapped back to the page line it comes from. */
export interface Diagnostic { program: Program, where: string, message: string }

function parse (output: string, programs: Program[]): Diagnostic[] {
  const byName = new Map(programs.map((p) => [p.name, p]))
  const diagnostics: Diagnostic[] = []
  let last: Diagnostic | null = null
  for (const line of output.split('\n')) {
    const m = /^src[\\/]([^()]+)\((\d+),(\d+)\): (error .*)$/.exec(line)
    if (m !== null) {
      const program = byName.get(m[1] ?? '')
      if (program === undefined) continue
      const at = program.lines[Number(m[2]) - 1]
      last = { program, where: `${program.file}:${at ?? `(end of block ${program.line})`}`, message: m[4] ?? '' }
      diagnostics.push(last)
    } else if (last !== null && line.startsWith('  ')) {
      last.message += '\n' + line
    } else if (line.trim() !== '') {
      last = null
      // A diagnostic outside the programs (a library's .d.ts, the options) fails every program.
      if (/error TS\d+/.test(line)) for (const program of programs) diagnostics.push({ program, where: program.file, message: line })
    }
  }
  return diagnostics
}

function tscRun (tsc: string, dir: string, project: string, emit: boolean): Promise<string> {
  const args = [tsc, '-p', join(dir, project), '--pretty', 'false', ...(emit ? [] : ['--noEmit'])]
  return new Promise<string>((resolve) => {
    execFile(...bare(process.execPath, args), { cwd: dir, env: readerEnv(), maxBuffer: 64 * 1024 * 1024 }, (_err, stdout, stderr) => { resolve(stdout + stderr) })
  })
}

/**
 * Runs a `tsc` over the consumer folder and maps its diagnostics to page lines.
 * A program with a syntax error hides every semantic error of the whole run, so
 * such programs are reported alone and the others are checked again without them.
 */
export async function typeCheck (tsc: string, dir: string, programs: Program[], emit: boolean, tag: string): Promise<{ diagnostics: Diagnostic[], output: string }> {
  let output = await tscRun(tsc, dir, 'tsconfig.json', emit)
  let diagnostics = parse(output, programs)
  const broken = new Set(diagnostics.filter((d) => /^error TS1\d{3}:/.test(d.message)).map((d) => d.program))
  if (broken.size > 0) {
    const rest = programs.filter((p) => !broken.has(p))
    const project = `tsconfig.${tag}.json`
    writeFileSync(join(dir, project), JSON.stringify({ ...CONSUMER_TSCONFIG, include: undefined, files: rest.map((p) => `src/${p.name}`) }, null, 2))
    const again = await tscRun(tsc, dir, project, emit)
    output += '\n' + again
    diagnostics = [...diagnostics.filter((d) => broken.has(d.program)), ...parse(again, rest)]
  }
  return { diagnostics, output }
}

/** The `tsc` script of the repository's TypeScript. */
export function projectTsc (root: string): string {
  return createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
}

/**
 * The `tsc` of the latest TypeScript 7, installed from the npm registry into a
 * cache folder the first time (the project itself stays on 5.9, which tap and
 * typescript-eslint need). `null` when it cannot be installed.
 */
export async function typescript7 (): Promise<{ tsc: string, version: string } | { error: string }> {
  const cache = process.env.GK_DOCS_TS7_DIR ?? join(tmpdir(), 'fastify-gatekeeper-typescript7')
  const pkg = join(cache, 'node_modules', 'typescript', 'package.json')
  const installed = (): string | null => {
    if (!existsSync(pkg)) return null
    const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }
    return version.startsWith('7.') ? version : null
  }
  if (installed() === null) {
    mkdirSync(cache, { recursive: true })
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const result = await new Promise<string | null>((resolve) => {
      execFile(...bare(npm, ['install', '--prefix', cache, '--no-audit', '--no-fund', '--loglevel=error', 'typescript@7']), { timeout: 180_000, env: readerEnv() }, (err, _out, stderr) => {
        resolve(err === null ? null : `${err.message}\n${stderr}`)
      })
    })
    if (result !== null) return { error: result }
  }
  const version = installed()
  if (version === null) return { error: `no TypeScript 7 in ${cache}` }
  const bin = JSON.parse(readFileSync(pkg, 'utf8')) as { bin: Record<string, string> }
  return { tsc: join(cache, 'node_modules', 'typescript', bin.bin.tsc ?? 'bin/tsc'), version }
}
