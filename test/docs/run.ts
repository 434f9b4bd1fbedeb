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

/** The environment documented programs may rely on. */
export const DOCS_ENV: Record<string, string> = {
  JWT_SECRET: 'docs-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  DATABASE_URL: process.env.GK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: process.env.GK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
}

interface RunResult { code: number | null, output: string, shell: Array<{ line: number, code: number | null, output: string }>, listened: boolean }

function runShell (code: string, port: number, cwd: string): Promise<{ code: number | null, output: string }> {
  const script = code.replace(/\b(localhost|127\.0\.0\.1):3000\b/g, `127.0.0.1:${port}`)
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...DOCS_ENV }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => { output += String(d) })
    child.stderr.on('data', (d) => { output += String(d) })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }) })
  })
}

/** Runs one compiled program in an empty folder, then its shell blocks against its server. */
export function runProgram (program: Program, js: string, timeoutMs = 60_000): Promise<RunResult> {
  const cwd = mkdtempSync(join(tmpdir(), 'gk-docs-run-'))
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, js], { cwd, env: { ...process.env, ...DOCS_ENV }, stdio: ['pipe', 'pipe', 'pipe'] })
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
            if (first !== undefined) result.shell.push({ line: first.line, ...await runShell(program.shell.map((b) => b.code).join('\n'), port, cwd) })
          }
          child.stdin.end()
        })()
      }
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      result.code = code
      rmSync(cwd, { recursive: true, force: true })
      resolve(result)
    })
  })
}
