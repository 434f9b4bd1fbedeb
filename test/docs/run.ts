import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Program } from './programs.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The repository root. */
export const root = resolve(here, '..', '..')
const entry = join(here, 'run-program.mjs')

/** The environment without what the test runner adds (its loaders in NODE_OPTIONS, TAP_*): a reader's shell. */
export function readerEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('TAP') || k.startsWith('_TAP') || k.startsWith('NYC') || k.startsWith('NODE_V8_COVERAGE')) continue
    env[k] = v
  }
  return env
}

/**
 * `[command, args]` that run `cmd` without NODE_OPTIONS: the test runner puts
 * its loaders there for every process a test spawns, and a reader has none.
 */
export function bare (cmd: string, args: string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', cmd, ...args]]
}

/** The environment documented programs may rely on. */
export const DOCS_ENV: Record<string, string> = {
  JWT_SECRET: 'docs-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  DATABASE_URL: process.env.GK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: process.env.GK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  // docs/resource-server.md: this API's client secret at the authorization server.
  INTROSPECTION_SECRET: 'docs-test-introspection-secret',
  // docs/mfa.md: the key sealing TOTP secrets (32 bytes, base64), as `openssl rand -base64 32` prints one.
  MFA_KEY: Buffer.alloc(32, 7).toString('base64')
}

/** What a run gave: the program's exit code and output, and the shell session's. */
export interface RunResult { code: number | null, output: string, shell: Array<{ line: number, code: number | null, output: string }>, listened: boolean }

function runShell (code: string, port: number, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null, output: string }> {
  const script = code.replace(/\b(localhost|127\.0\.0\.1):3000\b/g, `127.0.0.1:${port}`)
  return new Promise((resolve) => {
    const child = spawn(...bare('bash', ['-e', '-o', 'pipefail', '-c', script]), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => { output += String(d) })
    child.stderr.on('data', (d) => { output += String(d) })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }) })
  })
}

/** How {@link runProgram} runs: by default in an empty folder of its own, removed afterwards. */
export interface RunOptions {
  cwd?: string
  /** Node options before the entry, e.g. `['--import', 'tsx']` for a `.ts` program. */
  nodeArgs?: string[]
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/** Runs one program (compiled, or `.ts` with `nodeArgs`), then its shell blocks against its server. */
export function runProgram (program: Pick<Program, 'shell'>, file: string, opts: RunOptions = {}): Promise<RunResult> {
  const own = opts.cwd === undefined
  const cwd = opts.cwd ?? mkdtempSync(join(tmpdir(), 'gk-docs-run-'))
  const timeoutMs = opts.timeoutMs ?? 60_000
  const env = { ...readerEnv(), ...DOCS_ENV, ...opts.env }
  return new Promise((resolve) => {
    const child = spawn(...bare(process.execPath, [...opts.nodeArgs ?? [], entry, file]), { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    const result: RunResult = { code: null, output: '', shell: [], listened: false }
    let port = 0
    let started = false
    const timer = setTimeout(() => {
      result.output += `\n(killed after ${timeoutMs} ms)`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stderr.on('data', (d) => { result.output += String(d) })
    child.stdout.on('data', (d) => {
      result.output += String(d)
      const m = /GK_DOCS_LISTENING (\d+)/.exec(result.output)
      if (m !== null) { port = Number(m[1]); result.listened = true }
      if (!started && result.output.includes('GK_DOCS_DONE')) {
        started = true
        ;(async () => {
          if (result.listened) {
            // One shell session, as in a reader's terminal: variables set in one block are there in the next.
            const first = program.shell[0]
            if (first !== undefined) result.shell.push({ line: first.line, ...await runShell(program.shell.map((b) => b.code).join('\n'), port, cwd, env) })
          }
          child.stdin.end()
        })()
      }
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      result.code = code
      if (own) rmSync(cwd, { recursive: true, force: true })
      resolve(result)
    })
  })
}
