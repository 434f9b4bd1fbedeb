import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DEMO_PASSWORD } from '../../examples/full/seed.js'
import { freePort } from '../helpers.js'
import { launchChromium, until } from './chromium.js'
import { addVirtualAuthenticator } from './webauthn.js'

// The demo's passkeys page (npm start, /passkeys), clicked through in Chromium
// with a virtual authenticator: password, add a passkey, forget the token, sign in with the passkey.

t.test('the demo page registers a passkey and signs in with it', async (t) => {
  const browser = await launchChromium(t)
  if (browser === null) return
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'gk-demo-passkeys-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/full/server.ts'], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  t.teardown(() => {
    child.kill('SIGTERM')
    rmSync(dataDir, { recursive: true, force: true })
  })
  await until(() => output.includes('Passkeys ('), 'the demo banner', 90_000)

  const page = await browser.newPage()
  await addVirtualAuthenticator(page)
  await page.goto(`http://localhost:${port}/passkeys`)
  const click = async (id: string): Promise<any> => {
    await page.$eval('#out', (e) => { e.textContent = '' })
    await page.click(`#${id}`)
    await until(async () => await page.$eval('#out', (e) => e.textContent !== ''), `the answer to ${id}`)
    return JSON.parse(await page.$eval('#out', (e) => e.textContent ?? ''))
  }
  await page.type('#password', DEMO_PASSWORD)
  t.same(await click('login'), { signedIn: true })
  const added = await click('register')
  t.equal(added.status, 201)
  t.equal(added.body.name, 'this device')
  t.same(await click('logout'), { signedIn: false })
  t.equal((await click('list')).status, 401, 'signed out')
  t.same(await click('passkey'), { signedIn: true, with: 'passkey' })
  const list = await click('list')
  t.same(list.body.map((p: { name: string }) => p.name), ['this device'])
})
