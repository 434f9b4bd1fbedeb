import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../helpers.js'
import { percentile, sleep } from './cluster.js'
import { Sandbox } from './services.js'

// Slow and idle clients against the demo server (examples/full/server.ts), whose Fastify options
// are the ones docs/deployment.md gives: headers within 5 s, the whole request within 15 s,
// idle keep-alive connections closed after 5 s, a new connection every 1,000 requests.
const HEADERS_MS = 5000
const REQUEST_MS = 15_000
const KEEP_ALIVE_MS = 5000
const CHECK_MS = 1000 // connectionsCheckingInterval: how often Node looks for overdue requests
const SLACK_MS = 2500 // a busy test machine

const sandbox = new Sandbox(t, 'slow')
const port = await freePort()
const demo = spawn(process.execPath, ['--import', 'tsx', 'examples/full/server.ts'], {
  env: { ...process.env, PORT: String(port), DATA_DIR: join(sandbox.root, 'data'), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'pipe']
})
sandbox.track('demo', demo)
let output = ''
demo.stdout.on('data', (d) => { output += String(d) })
demo.stderr.on('data', (d) => { output += String(d) })
const base = `http://127.0.0.1:${port}`
const deadline = Date.now() + 60_000
for (;;) {
  try {
    await fetch(`${base}/health`)
    break
  } catch {
    if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`the demo did not start:\n${output}`)
    await sleep(200)
  }
}

interface Held { ms: number, answer: string }

/** Opens a connection, runs `script` on it, resolves when the server closes it (or after 40 s). */
function hold (script: (s: net.Socket) => void): Promise<Held> {
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => { script(socket) })
    let answer = ''
    socket.on('data', (d) => { answer += d.toString() })
    socket.on('error', () => {})
    const timer = setTimeout(() => { socket.destroy() }, 40_000)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ ms: performance.now() - started, answer: answer.split('\r\n')[0] ?? '' })
    })
  })
}

/** Writes `chunks` one every 500 ms until the socket closes. */
const drip = (socket: net.Socket, first: string, chunk: string): void => {
  socket.write(first)
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer)
    else socket.write(chunk)
  }, 500)
}

t.test('idle, partial-header and slow connections are closed within the configured times while the server keeps answering', async (t) => {
  const idle = Array.from({ length: 200 }, () => hold(() => {}))
  const partial = Array.from({ length: 200 }, () => hold((s) => s.write('GET /health HTTP/1.1\r\nHost: demo\r\n')))
  const trickle = Array.from({ length: 5 }, () => hold((s) => { drip(s, 'GET /health HTTP/1.1\r\nHost: demo\r\n', 'X-Slow: 1\r\n') }))
  const slowBody = Array.from({ length: 5 }, () => hold((s) => { drip(s, 'POST /api/login HTTP/1.1\r\nHost: demo\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', ' ') }))
  const keptAlive = Array.from({ length: 5 }, () => hold((s) => s.write('GET /health HTTP/1.1\r\nHost: demo\r\n\r\n')))
  await sleep(1000)
  const at = performance.now()
  const health = await fetch(`${base}/health`)
  t.equal(health.status, 200, `the server answers while 400 connections are held (${Math.round(performance.now() - at)} ms)`)

  const check = async (name: string, list: Array<Promise<Held>>, limitMs: number, answer: RegExp): Promise<void> => {
    const held = await Promise.all(list)
    const ms = held.map((h) => h.ms)
    t.comment(`${name}: ${held.length} connections closed after ${Math.round(Math.min(...ms))}-${Math.round(Math.max(...ms))} ms (median ${Math.round(percentile(ms, 50))}), answered ${[...new Set(held.map((h) => h.answer || 'nothing'))].join(', ')}`)
    t.ok(Math.max(...ms) <= limitMs + CHECK_MS + SLACK_MS, `${name}: every connection closed within ${limitMs} ms (+ the check interval)`)
    t.ok(Math.min(...ms) >= limitMs - 500, `${name}: by that setting, not earlier`)
    t.ok(held.every((h) => answer.test(h.answer)), `${name}: answered ${answer}`)
  }
  await check('idle', idle, HEADERS_MS, /^HTTP\/1\.1 408 /)
  await check('partial headers', partial, HEADERS_MS, /^HTTP\/1\.1 408 /)
  await check('headers sent a line every 500 ms', trickle, HEADERS_MS, /^HTTP\/1\.1 408 /)
  await check('a body sent a byte every 500 ms', slowBody, REQUEST_MS, /^HTTP\/1\.1 408 /)
  await check('idle after a response (keep-alive)', keptAlive, KEEP_ALIVE_MS, /^HTTP\/1\.1 200 /)
})

t.test('a connection is closed after 1,000 requests (maxRequestsPerSocket)', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  let sockets = 0
  let closing = 0
  for (let i = 0; i < 1001; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/health`, { agent }, (res) => {
        if (res.headers.connection === 'close') closing = i + 1
        res.resume()
        res.on('end', resolve)
      })
      req.on('socket', () => { if (!req.reusedSocket) sockets++ })
      req.on('error', reject)
    })
  }
  t.equal(closing, 1000, 'the 1,000th answer on a connection says Connection: close')
  t.equal(sockets, 2, '1,001 requests took two connections')
})
