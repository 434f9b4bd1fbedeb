import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t from 'tap'
import { POSTGRES_URL, requirePostgres, uniqueSchema } from '../stores/postgres-env.js'
import { adminClient, REDIS_URL, requireRedis, uniquePrefix } from './env.js'

// Three app instances in separate processes, sharing Postgres and Redis and nothing else.
const FIXTURE = fileURLToPath(new URL('./fixtures/instance.ts', import.meta.url))
const PASSWORD = 'correct horse battery staple'

interface Node { name: string, base: string, child: ChildProcess }

async function startInstance (name: string, env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${name} did not start within 60 s: ${stderr}`)), 60_000)
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve((JSON.parse(line) as { port: number }).port)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`instance ${name} exited with ${code}: ${stderr}`))
    })
  })
  return { name, base: `http://127.0.0.1:${port}`, child }
}

async function stop (node: Node): Promise<void> {
  if (node.child.exitCode !== null) return
  const exited = new Promise((resolve) => node.child.once('exit', resolve))
  node.child.kill('SIGTERM')
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

async function call (node: Node, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await fetch(node.base + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, json: text === '' ? null : JSON.parse(text) }
}

if (await requireRedis(t) && await requirePostgres(t)) {
  const schema = uniqueSchema('multi')
  const prefix = uniquePrefix('multi')
  adminClient(t, prefix)
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
  pool.on('error', () => {})
  t.teardown(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })
  const env = { GK_PG_URL: POSTGRES_URL, GK_PG_SCHEMA: schema, GK_REDIS_URL: REDIS_URL, GK_REDIS_PREFIX: prefix, GK_JWT_SECRET: randomBytes(32).toString('base64url') }
  const started = performance.now()
  const nodes = await Promise.all(['A', 'B', 'C'].map(async (name) => await startInstance(name, env)))
  t.teardown(() => Promise.all(nodes.map(stop)))
  t.comment(`three instances started in ${Math.round(performance.now() - started)} ms`)
  const [A, B, C] = nodes as [Node, Node, Node]

  const alice = (await call(A, 'POST', '/test/users', { username: 'alice', password: PASSWORD })).json as { id: string }

  t.test('login on A, refresh on B, reuse on C is detected and the family is revoked everywhere', async (t) => {
    const login = await call(A, 'POST', '/api/login', { username: 'alice', password: PASSWORD })
    t.equal(login.status, 200)
    const first = login.json.refreshToken as string
    const refreshed = await call(B, 'POST', '/api/token/refresh', { refreshToken: first })
    t.equal(refreshed.status, 200, 'B rotates the token A issued')
    t.equal((await call(C, 'GET', '/whoami', undefined, { authorization: `Bearer ${refreshed.json.accessToken}` })).json.subject, alice.id, 'the access token from B works on C')
    const reuse = await call(C, 'POST', '/api/token/refresh', { refreshToken: first })
    t.equal(reuse.status, 401, 'C sees the rotated token come back')
    t.equal(reuse.json.code, 'GK_INVALID_GRANT')
    const successor = await call(A, 'POST', '/api/token/refresh', { refreshToken: refreshed.json.refreshToken })
    t.equal(successor.status, 401, 'the successor B issued is dead on A: the whole family was revoked')
  })

  t.test('a key revoked on A is refused on B within 1 s, though B and C had it cached', async (t) => {
    const latencies: number[] = []
    for (let round = 0; round < 5; round++) {
      const { key, id } = (await call(A, 'POST', '/test/keys', { ownerId: alice.id })).json as { key: string, id: string }
      for (const node of [B, C]) t.equal((await call(node, 'GET', '/whoami', undefined, { 'x-api-key': key })).status, 200, `verified on ${node.name}`)
      t.ok((await call(B, 'GET', '/test/cache')).json.size >= 1, 'cached on B')
      const revokedAt = performance.now()
      t.same((await call(A, 'POST', `/test/keys/${id}/revoke`)).json, { revoked: true })
      let status = 200
      while (status === 200 && performance.now() - revokedAt < 1000) {
        status = (await call(B, 'GET', '/whoami', undefined, { 'x-api-key': key })).status
      }
      const ms = performance.now() - revokedAt
      latencies.push(ms)
      t.equal(status, 401, `refused on B ${ms.toFixed(1)} ms after the revoke request on A was sent`)
    }
    latencies.sort((a, b) => a - b)
    t.comment(`revocation on A → refusal on B (5 rounds, over HTTP, revoke round trip included): median ${latencies[2]?.toFixed(1)} ms, max ${latencies[4]?.toFixed(1)} ms`)
  })

  t.test('the per-account lockout counts failures from all instances', async (t) => {
    await call(A, 'POST', '/test/users', { username: 'bob', password: PASSWORD })
    for (const node of [A, B, C]) {
      t.equal((await call(node, 'POST', '/api/login', { username: 'bob', password: 'wrong horse battery staple!' })).status, 401, `one failure on ${node.name}`)
    }
    const locked = await call(B, 'POST', '/api/login', { username: 'bob', password: PASSWORD })
    t.equal(locked.status, 429, 'three failures spread over three instances lock the account')
    t.equal(locked.json.code, 'GK_ACCOUNT_LOCKED')
    t.equal((await call(C, 'POST', '/api/login', { username: 'bob', password: PASSWORD })).status, 429)
  })
}
