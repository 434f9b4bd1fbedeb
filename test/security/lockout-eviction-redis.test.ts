import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { freePort } from '../helpers.js'
import { CLIENT_OPTIONS } from '../redis/env.js'
import { auditSweep, createUser, PASSWORD, remember, securityApp } from './helpers.js'

// Attack (issue: "a flood of failures on junk accounts evicts a lockout"), in Redis: under memory
// pressure Redis evicts keys (maxmemory-policy volatile-ttl or volatile-lru); a lock stored as a key
// with a TTL — the shortest TTL around — went first, and alice's password then worked.
const WRONG = remember(`${PASSWORD}-evict-redis`)

/** A Redis of this test's own (the shared one must not get a maxmemory), or null when there is no redis-server. */
async function ownRedis (policy: string): Promise<{ url: string, stop: () => Promise<void> } | null> {
  const port = await freePort()
  let child: ChildProcess
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--maxmemory', '4mb', '--maxmemory-policy', policy, '--maxmemory-samples', '10'], { stdio: 'ignore' })
    await new Promise<void>((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject) })
  } catch {
    return null
  }
  const url = `redis://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      break
    } catch {
      if (i > 100) {
        await stop()
        throw new Error('redis-server did not start')
      }
    } finally {
      probe.disconnect()
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url, stop }
}

function fastPasswords (app: FastifyInstance, hash: string): void {
  const passwords = app.gatekeeper.passwords as unknown as Record<string, unknown>
  passwords.verify = async (h: string, password: string) => h === hash && password === PASSWORD
  passwords.dummyVerify = async () => false
}

const login = (app: FastifyInstance, username: string, password: string, ip = '198.51.100.1') =>
  app.inject({ method: 'POST', url: '/api/login', remoteAddress: ip, payload: { username, password } })

for (const policy of ['volatile-ttl', 'volatile-lru']) {
  t.test(`Redis under memory pressure (${policy}): locks and the hard-cap history are not evicted`, async (t) => {
    const redis = await ownRedis(policy)
    if (redis === null) {
      if (process.env.CI === 'true') t.fail('redis-server is required when CI=true')
      else t.comment('SKIPPING: no redis-server binary (required when CI=true)')
      return
    }
    t.teardown(redis.stop)
    const client = new Redis(redis.url, CLIENT_OPTIONS)
    client.on('error', () => {})
    t.teardown(() => { client.disconnect() })
    const { app, clock } = await securityApp({
      core: { redis: { client, failOpen: false }, bruteForce: { credentialStuffing: false, account: { max: 3 }, hardCap: 6 } }
    })
    t.teardown(() => app.close())
    await createUser(app, 'alice')
    await createUser(app, 'bob')
    fastPasswords(app, (await app.gatekeeper.store.users.findByLogin('alice'))!.passwordHash!)
    // alice: locked (1 min). bob: one lockout over (streak 3, level 1), three failures from the hard cap.
    for (let i = 0; i < 3; i++) await login(app, 'bob', WRONG)
    clock.now += 60_000
    for (let i = 0; i < 3; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401)
    t.equal((await login(app, 'alice', PASSWORD)).statusCode, 429, 'alice is locked')

    // Other traffic: failures on junk accounts, and another tenant's keys filling Redis past maxmemory.
    for (let i = 0; i < 500; i++) await login(app, `junk-${i}`, WRONG, `10.0.${i >> 8}.${i & 255}`)
    const filler = 'x'.repeat(1024)
    for (let round = 0; round < 10; round++) {
      const pipe = client.pipeline()
      for (let i = 0; i < 1000; i++) pipe.set(`tenant:${round}:${i}`, filler, 'PX', 600_000)
      await pipe.exec()
    }
    const evicted = Number(/evicted_keys:(\d+)/.exec(await client.info('stats'))?.[1])
    t.ok(evicted > 1000, `Redis evicted ${evicted} keys`)

    const res = await login(app, 'alice', PASSWORD)
    t.equal(res.statusCode, 429, 'alice is still locked')
    t.ok(Number(res.headers['retry-after']) <= 60, `Retry-After ${String(res.headers['retry-after'])}`)
    for (let i = 0; i < 3; i++) t.equal((await login(app, 'bob', WRONG)).statusCode, 401)
    t.equal((await login(app, 'bob', PASSWORD)).headers['retry-after'], '3600', 'bob\'s sixth consecutive failure reaches the hard cap: his streak survived')
  })
}

auditSweep(t)
