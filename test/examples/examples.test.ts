import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OAuth2Server } from 'oauth2-mock-server'
import t, { type Test } from 'tap'
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
  ['examples/client-credentials.ts', '/health', '/api/reports']
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
async function runExample (t: Test, file: string, env: Record<string, string> = {}): Promise<{ base: string, dataDir: string } | null> {
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
  return { base, dataDir }
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
