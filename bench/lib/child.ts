/**
 * Starts a benchmark server as its own process
 * (`node --import tsx bench/servers/<variant>.ts`) and waits for its ready line.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseReady, type ReadyInfo } from './protocol.js'
import { variantCommand } from './variants.js'

/** The project root (two levels above this file). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A running server. */
export interface Server {
  variant: string
  pid: number
  info: ReadyInfo
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** The resident set size of the server process, bytes (Linux /proc). */
  rss (): number
  /** CPU seconds (user + system) the server process has used so far (Linux /proc). */
  cpu (): number
  /** Closes stdin (the server exits cleanly) and kills it after 5 s. */
  stop (): Promise<void>
}

/** How to start a server. */
export interface StartOptions {
  /** Extra node flags (`--cpu-prof`, `--expose-gc`…). */
  nodeArgs?: string[]
  env?: Record<string, string>
  timeoutMs?: number
}

function rssOf (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  return m === null ? Number.NaN : Number(m[1]) * 1024
}

// /proc/<pid>/stat counts in clock ticks; USER_HZ is 100 on Linux.
const TICKS_PER_SECOND = 100

function cpuOf (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself contain spaces: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

function stopper (child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

/** Starts the variant's server (`bench/servers/<variant>.ts`, see `variantCommand`); rejects with the tail of its stderr when it exits or stalls before announcing. */
export async function startServer (variant: string, opts: StartOptions = {}): Promise<Server> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...variantCommand(variant)], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (d: string) => { stderr = (stderr + d).slice(-4000) })
  const stop = stopper(child)
  return await new Promise<Server>((resolve, reject) => {
    let buffer = ''
    const fail = (why: string): void => {
      clearTimeout(timer)
      stop().catch(() => {})
      reject(new Error(`${variant}: ${why}${stderr.trim() === '' ? '' : `\n${stderr.trim()}`}`))
    }
    const timer = setTimeout(() => fail(`not ready within ${opts.timeoutMs ?? 60_000} ms`), opts.timeoutMs ?? 60_000)
    const onExit = (code: number | null, signal: string | null): void => fail(`exited (${signal ?? code}) before announcing its port`)
    child.once('exit', onExit)
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', function onData (d: string) {
      buffer += d
      let nl: number
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const info = parseReady(buffer.slice(0, nl))
        buffer = buffer.slice(nl + 1)
        if (info === null) continue
        clearTimeout(timer)
        child.off('exit', onExit)
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        const pid = child.pid as number
        resolve({ variant, pid, info, origin: `http://127.0.0.1:${info.port}`, rss: () => rssOf(pid), cpu: () => cpuOf(pid), stop })
        return
      }
    })
  })
}
