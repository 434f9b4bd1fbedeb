import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OAuth2Server } from 'oauth2-mock-server'
import t, { type Test } from 'tap'
import { holder, proof } from '../dpop/helpers.js'
import { freePort } from '../helpers.js'

// Every example runs on its own, as the docs say (`npx tsx examples/<name>.ts`):
// start each one and make a public and a protected request against it.
const EXAMPLES: Array<[file: string, publicPath: string, protectedPath: string]> = [
  ['examples/full/server.ts', '/health', '/api/v2/posts'],
  ['examples/jwt-login.ts', '/health', '/api/profile'],
  ['examples/api-keys.ts', '/health', '/api/reports'],
  ['examples/rbac-ownership.ts', '/health', '/api/posts'],
  ['examples/refresh-cookie.ts', '/', '/api/profile'],
  ['examples/versioning.ts', '/health', '/api/v2/posts'],
  ['examples/typebox.ts', '/health', '/notes/1'],
  ['examples/client-credentials.ts', '/health', '/api/reports'],
  ['examples/password-reset.ts', '/health', '/api/profile'],
  ['examples/mfa.ts', '/health', '/api/profile'],
  ['examples/dpop.ts', '/health', '/api/payments']
]

async function waitUp (base: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      await fetch(base)
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

/** Starts an example as the docs say and waits until it answers; `null` (after a failed assertion) when it does not start. */
async function runExample (t: Test, file: string, env: Record<string, string> = {}): Promise<{ base: string, dataDir: string, output: () => string } | null> {
  const port = env.PORT ?? String(await freePort())
  const dataDir = mkdtempSync(join(tmpdir(), 'gk-example-'))
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  t.teardown(() => {
    child.kill('SIGTERM')
    rmSync(dataDir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${port}`
  try {
    await waitUp(base, Date.now() + 60_000)
  } catch {
    t.fail(`${file} did not start:\n${output}`)
    return null
  }
  return { base, dataDir, output: () => output }
}

for (const [file, publicPath, protectedPath] of EXAMPLES) {
  t.test(`${file} starts and guards its routes`, async (t) => {
    const run = await runExample(t, file)
    if (run === null) return
    const { base } = run
    const open = await fetch(base + publicPath)
    t.equal(open.status, 200, `${publicPath} is public`)
    const closed = await fetch(base + protectedPath)
    t.equal(closed.status, 401, `${protectedPath} needs credentials`)
    t.match(closed.headers.get('www-authenticate') ?? '', /realm="api"/)
  })
}

t.test('examples/dpop.ts: a login with a proof gets a bound token that opens the DPoP-only route with a fresh proof, and nothing without one', async (t) => {
  const run = await runExample(t, 'examples/dpop.ts')
  if (run === null) return
  const { base } = run
  const password = /demo account: alice \/ (\S+)/.exec(run.output())?.[1] ?? ''
  const h = await holder()
  const clock = { now: Date.now() }
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: await proof(h, clock, { htm: 'POST', htu: `${base}/api/login` }) }, body: JSON.stringify({ username: 'alice', password }) })
  t.equal(login.status, 200)
  const { accessToken, tokenType } = await login.json() as { accessToken: string, tokenType: string }
  t.equal(tokenType, 'DPoP')
  const paid = await fetch(`${base}/api/payments`, { headers: { authorization: `DPoP ${accessToken}`, dpop: await proof(h, clock, { htm: 'GET', htu: `${base}/api/payments`, accessToken }) } })
  t.equal(paid.status, 200)
  t.equal((await fetch(`${base}/api/payments`, { headers: { authorization: `Bearer ${accessToken}` } })).status, 401, 'the token alone, as Bearer')
  t.match((await fetch(`${base}/api/payments`)).headers.get('www-authenticate'), /^DPoP realm="api", algs="/)
})

t.test('examples/oauth-login.ts logs in through an OpenID provider and keeps the user in its SQLite file', async (t) => {
  const mock = new OAuth2Server()
  await mock.issuer.keys.generate('RS256')
  await mock.start(0, '127.0.0.1')
  mock.issuer.url = `http://127.0.0.1:${mock.address().port}`
  t.teardown(() => mock.stop())
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const run = await runExample(t, 'examples/oauth-login.ts', {
    PORT: String(port), APP_URL: base, OIDC_ISSUER: mock.issuer.url, OIDC_CLIENT_ID: 'exampleclient', OIDC_CLIENT_SECRET: 'examplesecret'
  })
  if (run === null) return
  t.equal((await fetch(`${base}/health`)).status, 200)
  t.equal((await fetch(`${base}/api/profile`)).status, 401)
  const start = await fetch(`${base}/api/oauth/sso/start`, { redirect: 'manual' })
  t.equal(start.status, 302)
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string
  const authorize = new URL(start.headers.get('location') as string)
  t.equal(authorize.origin, mock.issuer.url, 'start sends the browser to the provider')
  const back = await fetch(authorize, { redirect: 'manual' })
  const callback = new URL(back.headers.get('location') as string)
  t.equal(callback.origin + callback.pathname, `${base}/api/oauth/sso/callback`)
  const done = await fetch(callback, { headers: { cookie } })
  t.equal(done.status, 200)
  const { accessToken } = await done.json() as { accessToken: string }
  const profile = await fetch(`${base}/api/profile`, { headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(profile.status, 200)
  t.match(await profile.json(), { username: 'sso:johndoe' })
  t.ok(existsSync(join(run.dataDir, 'oauth-login.db')), 'users and identity links are in the SQLite file')
})

t.test('the demo server (npm start) prints account mails from its outbox, and their link works', async (t) => {
  const run = await runExample(t, 'examples/full/server.ts')
  if (run === null) return
  // The demo listens first and seeds its users after: wait for the banner it prints once seeded.
  for (let i = 0; i < 300 && !run.output().includes('Forgotten password'); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const post = async (path: string, body: unknown): Promise<Response> =>
    await fetch(run.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal((await post('/api/password/forgot', { email: 'user@demo.example' })).status, 202)
  let token: string | undefined
  for (let i = 0; i < 100 && token === undefined; i++) {
    token = /\[outbox\] mail to user@demo\.example \(password_reset\):\n {2}http:\/\/localhost:\d+\/reset-password#token=([\w-]{43})/.exec(run.output())?.[1]
    if (token === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(token, 'the mail is printed')
  t.equal((await post('/api/password/reset', { token, newPassword: 'a new demo passphrase' })).status, 204)
  t.equal((await post('/api/login', { username: 'user', password: 'a new demo passphrase' })).status, 200)
})

t.test('examples/password-reset.ts mails a reset link through SMTP; the link works once; registration needs a verified address', async (t) => {
  const { SmtpInbox } = await import('../accounts/smtp.js')
  const inbox = new SmtpInbox()
  const smtpPort = await inbox.start()
  t.teardown(() => inbox.stop())
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const run = await runExample(t, 'examples/password-reset.ts', { PORT: String(port), APP_URL: `http://localhost:${port}`, SMTP_URL: `smtp://127.0.0.1:${smtpPort}` })
  if (run === null) return
  const post = async (path: string, body: unknown): Promise<Response> =>
    await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal((await post('/api/password/forgot', { email: 'alice@example.org' })).status, 202)
  const mail = await inbox.waitFor('alice@example.org')
  t.match(mail.url, new RegExp(`^http://localhost:${port}/reset-password#token=`))
  const page = await fetch(`${base}/reset-password`)
  t.equal(page.headers.get('referrer-policy'), 'no-referrer')
  t.equal((await post('/api/password/reset', { token: mail.token, newPassword: 'a new long passphrase' })).status, 204)
  t.equal((await post('/api/password/reset', { token: mail.token, newPassword: 'yet another passphrase' })).status, 401)
  t.equal((await post('/api/login', { username: 'alice', password: 'a new long passphrase' })).status, 200)

  t.equal((await post('/api/register', { username: 'bob@example.org', password: 'a long and unusual passphrase' })).status, 201)
  const login = async (): Promise<number> => (await post('/api/login', { username: 'bob@example.org', password: 'a long and unusual passphrase' })).status
  t.equal(await login(), 403)
  const verify = await inbox.waitFor('bob@example.org')
  t.equal((await post('/api/email/verify', { token: verify.token })).status, 204)
  t.equal(await login(), 200)
})

t.test('examples/mfa.ts: set up TOTP, log in in two steps, reach the route that needs the second factor', async (t) => {
  const { totpCode, secretOf } = await import('../mfa/helpers.js')
  const run = await runExample(t, 'examples/mfa.ts')
  if (run === null) return
  const json = async (path: string, init: { method?: string, token?: string, body?: unknown } = {}): Promise<{ status: number, body: any, headers: Headers }> => {
    const res = await fetch(run.base + path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
    })
    return { status: res.status, body: res.status === 204 ? null : await res.json(), headers: res.headers }
  }
  const credentials = { username: 'alice', password: 'correct horse battery staple' }
  const first = await json('/api/login', { body: credentials })
  const token = first.body.accessToken as string
  const denied = await json('/api/admin', { token })
  t.equal(denied.status, 401)
  t.match(denied.headers.get('www-authenticate'), /error="insufficient_user_authentication".*acr_values=.*max_age=900/)
  const started = await json('/api/mfa/totp', { method: 'POST', token })
  t.match(started.body.uri, /^otpauth:\/\/totp\/Example:alice\?/)
  const secret = secretOf(started.body.uri)
  const confirmedAt = Date.now()
  const confirmed = await json('/api/mfa/totp/confirm', { token, body: { code: totpCode(secret, confirmedAt) } })
  t.equal(confirmed.body.recoveryCodes.length, 10)
  const pending = await json('/api/login', { body: credentials })
  t.equal(pending.body.status, 'mfa_required')
  // A later step's code: the one that confirmed the factor is used up (the next step is inside the drift window).
  const now = Date.now()
  const sameStep = Math.floor(now / 30_000) === Math.floor(confirmedAt / 30_000)
  const done = await json('/api/login/mfa', { body: { challenge: pending.body.challenge, code: totpCode(secret, now, sameStep ? 1 : 0) } })
  t.equal(done.status, 200, JSON.stringify(done.body))
  t.same((await json('/api/admin', { token: done.body.accessToken })).body, { secret: 'area' })
  t.notOk(run.output().includes(secret), 'the secret is not logged')
})

t.test('the README quick start works as written', async (t) => {
  const { readFileSync, writeFileSync } = await import('node:fs')
  const readme = readFileSync('README.md', 'utf8')
  const block = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) {
    t.fail('README has no Quick start ts block')
    return
  }
  t.match(block, /port: 3000/)
  const port = await freePort()
  const file = join('test', 'examples', `.quickstart-${process.pid}.ts`)
  writeFileSync(file, block.replace('port: 3000', `port: ${port}`))
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stderr.on('data', (d) => { output += String(d) })
  t.teardown(() => {
    child.kill('SIGTERM')
    rmSync(file, { force: true })
  })
  const base = `http://127.0.0.1:${port}`
  try {
    await waitUp(base, Date.now() + 60_000)
  } catch {
    t.fail(`the quick start did not start:\n${output}`)
    return
  }
  t.equal((await fetch(`${base}/health`)).status, 200)
  t.equal((await fetch(`${base}/me`)).status, 401)
  const login = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ada', password: 'correct horse battery' })
  })
  t.equal(login.status, 200)
  const { accessToken } = await login.json() as { accessToken: string }
  const posts = await fetch(`${base}/posts`, { headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(posts.status, 200)
  t.same(await posts.json(), [])
})
