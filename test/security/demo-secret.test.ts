import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort } from '../helpers.js'

// Attack (issue: "the demo accepts tokens forged with its public fallback secret"): `npm start`
// signed with a secret written in the repository, so anyone could mint an admin token for a demo
// left reachable. It now makes a random secret per start (and says so, without printing it) unless
// JWT_SECRET is set, and listens on loopback unless HOST says otherwise.
const PUBLIC_FALLBACK = 'demo-secret-change-me-0123456789abcdef'

/** An HS256 access token for the demo's issuer and audience, signed with `secret`. */
function mint (secret: string, roles = ['admin']): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64({ sub: 'attacker', roles, iss: 'gatekeeper.demo', aud: 'demo-api', iat: now, exp: now + 600, jti: randomBytes(8).toString('hex') })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

interface Demo { base: string, output: () => string, stop: () => Promise<void> }

async function startDemo (t: Test, env: Record<string, string | undefined>, dataDir: string): Promise<Demo> {
  const port = await freePort()
  const childEnv: Record<string, string | undefined> = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env }
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k]
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/full/server.ts'], { env: childEnv as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  const stop = async (): Promise<void> => {
    // A child killed by a signal has a signalCode and no exitCode.
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  t.teardown(stop)
  const deadline = Date.now() + 60_000
  // Ready once the banner is printed (after the seed).
  while (!output.includes('Try:')) {
    if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) throw new Error(`the demo did not start:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { base: `http://127.0.0.1:${port}`, output: () => output, stop }
}

const me = async (base: string, token: string): Promise<number> => (await fetch(`${base}/api/v2/me`, { headers: { authorization: `Bearer ${token}` } })).status

t.test('without JWT_SECRET: a random secret per start, said to be ephemeral, never printed; forged tokens refused', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gk-demo-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const first = await startDemo(t, { JWT_SECRET: undefined, HOST: undefined }, dataDir)
  t.equal(await me(first.base, mint(PUBLIC_FALLBACK)), 401, 'an admin token forged with the old public fallback secret is refused')
  t.match(first.output(), /ephemeral/i, 'the banner says the secret is ephemeral')
  t.notMatch(first.output(), new RegExp(PUBLIC_FALLBACK), 'no fallback secret in the output')
  const login = await fetch(`${first.base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'user', password: /password for all: (\S+)\)/.exec(first.output())?.[1] }) })
  t.equal(login.status, 200)
  const { accessToken } = await login.json() as { accessToken: string }
  t.equal(await me(first.base, accessToken), 200, 'its own tokens work')
  await first.stop()
  const second = await startDemo(t, { JWT_SECRET: undefined, HOST: undefined }, dataDir)
  t.equal(await me(second.base, accessToken), 401, 'a new start has a new secret: the old token is refused')
  t.match(first.output(), /http:\/\/127\.0\.0\.1:/, 'it listens on the loopback address')
  const outside = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (outside === undefined) {
    t.comment('no non-loopback IPv4 address on this machine: the binding is checked through the banner only')
  } else {
    const port = new URL(second.base).port
    await t.rejects(fetch(`http://${outside.address}:${port}/health`), 'not reachable on another interface')
  }
})

t.test('with JWT_SECRET: that secret signs, nothing is called ephemeral; HOST chooses the interface', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gk-demo-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const secret = randomBytes(32).toString('base64url')
  const demo = await startDemo(t, { JWT_SECRET: secret, HOST: '0.0.0.0' }, dataDir)
  t.equal(await me(demo.base, mint(secret, ['user'])), 200, 'a token signed with JWT_SECRET is accepted')
  t.notMatch(demo.output(), /ephemeral/i)
  t.notOk(demo.output().includes(secret), 'the secret is not printed')
  t.equal(await me(demo.base, mint(PUBLIC_FALLBACK)), 401)
  const outside = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (outside !== undefined) t.equal((await fetch(`http://${outside.address}:${new URL(demo.base).port}/health`)).status, 200, 'with HOST=0.0.0.0 it is reachable on another interface')
})
