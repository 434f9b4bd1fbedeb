/**
 * App instances of the fault suite in child processes, and the HTTP client
 * that drives them: keep-alive connections, every answer timed, transport
 * errors (a killed instance) reported rather than thrown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers.js'
import { exited, type Sandbox } from './services.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/instance.ts', import.meta.url))

/** One app process; `kill` and `start` keep its port, so clients need not know it was replaced. */
export class Instance {
  port = 0
  #child: ChildProcess | null = null
  #stderr = ''

  constructor (readonly name: string, private readonly sandbox: Sandbox, private readonly env: Record<string, string>) {}

  get base (): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** What the process wrote to stderr lately (its warn and error log lines). */
  get stderr (): string {
    return this.#stderr
  }

  /** Starts the process; resolves when it listens. */
  async start (): Promise<void> {
    if (this.port === 0) this.port = await freePort()
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      env: { ...process.env, ...this.env, GK_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.sandbox.track(`app-${this.name}`, child)
    this.#child = child
    child.stderr?.on('data', (chunk: Buffer) => { this.#stderr = (this.#stderr + chunk.toString()).slice(-20_000) })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${this.name} did not start within 60 s: ${this.#stderr}`)), 60_000)
      createInterface({ input: child.stdout! }).once('line', () => {
        clearTimeout(timer)
        resolve()
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`instance ${this.name} exited with ${code ?? signal}: ${this.#stderr}`))
      })
    })
  }

  /** SIGKILL: whatever it was doing is cut off, open transactions roll back with its connections. */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === null) return
    this.#child = null
    child.kill('SIGKILL')
    await exited(child)
  }

  /** SIGTERM (a graceful close), SIGKILL after 5 s. */
  async stop (): Promise<void> {
    const child = this.#child
    if (child === null) return
    this.#child = null
    child.kill('SIGTERM')
    await exited(child, 5000)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited(child)
  }
}

/** Starts instances together. */
export async function startAll (instances: Instance[]): Promise<void> {
  await Promise.all(instances.map(async (i) => await i.start()))
}

/** An answer, or `status: 0` with `error` when the connection failed or was cut. */
export interface Answer {
  status: number
  json: any
  ms: number
  error?: string
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/** One request; never rejects. */
export async function call (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now()
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise<Answer>((resolve) => {
    const req = http.request(base + path, {
      method,
      agent,
      headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }), ...headers }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => {
        let json: unknown = null
        try { json = text === '' ? null : JSON.parse(text) } catch { json = text }
        resolve({ status: res.statusCode ?? 0, json, ms: performance.now() - started })
      })
      res.on('error', (err) => resolve({ status: 0, json: null, ms: performance.now() - started, error: err.message }))
    })
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')))
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, json: null, ms: performance.now() - started, error: err.code ?? err.message }))
    req.end(payload)
  })
}

/** Drops idle keep-alive connections (after an instance was replaced, say). */
export function resetConnections (): void {
  agent.destroy()
}

/** `p`-th percentile of `values` (0-100), nearest rank. */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Runs `step` in `workers` parallel loops until `stop()` is called; resolves when all loops have finished. */
export function loop (workers: number, step: (worker: number) => Promise<void>): { stop: () => Promise<void> } {
  const state = { running: true }
  const loops = Array.from({ length: workers }, async (_x, w) => {
    while (state.running) await step(w)
  })
  return {
    stop: async () => {
      state.running = false
      await Promise.all(loops)
    }
  }
}

/**
 * Open-loop load: starts `perSecond` calls of `fire` a second, whether or not
 * earlier ones have been answered (as independent clients do), until `stop()`;
 * `stop` resolves when every call started has finished.
 */
export function rate (perSecond: number, fire: (n: number) => Promise<void>): { stop: () => Promise<void> } {
  const pending = new Set<Promise<void>>()
  const start = performance.now()
  let fired = 0
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / 1000) * perSecond)
    while (fired < due) {
      const p = fire(fired++).finally(() => pending.delete(p))
      pending.add(p)
    }
  }, 5)
  return {
    stop: async () => {
      clearInterval(timer)
      await Promise.all(pending)
    }
  }
}

/** Polls `check` every 25 ms until true; resolves to the ms it took, or rejects after `limitMs`. */
export async function until (what: string, check: () => boolean | Promise<boolean>, limitMs: number): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await check()) return performance.now() - start
    if (performance.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms`)
    await sleep(25)
  }
}
