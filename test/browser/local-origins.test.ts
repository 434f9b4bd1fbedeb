import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser } from 'puppeteer-core'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { launchChromium, listen } from './chromium.js'

// Which local origins keep Secure, __Host- and __Secure- cookies over plain http?
// docs/jwt.md and docs/refresh.md state the answer this test establishes.

const PASSWORD = 'correct horse battery staple'
const COOKIES = ['plain=1; Path=/', 'secure=1; Secure; Path=/', '__Host-host=1; Secure; Path=/', '__Secure-sec=1; Secure; Path=/']

/** The first IPv4 address of this machine that is not loopback, if any. */
function lanAddress (): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}

async function server (https?: { key: Buffer, cert: Buffer }): Promise<{ port: number, close: () => Promise<void> }> {
  // Typed as a plain-http instance: the routes below do not care which server carries them.
  const app = (https === undefined ? Fastify({ forceCloseConnections: true }) : Fastify({ forceCloseConnections: true, https })) as unknown as FastifyInstance
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false }, bruteForce: false })
  await app.register(jwt, { secret: 'x'.repeat(32), issuer: 'local-origins', audience: 'api', cookie: {} })
  await app.register(refresh, { transport: 'cookie' })
  app.get('/', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send('<!doctype html><title>local</title>'))
  app.get('/set', { config: { auth: false } }, async (_request, reply) => reply.header('set-cookie', COOKIES).send('set'))
  app.get('/echo', { config: { auth: false } }, async (request) => request.headers.cookie ?? '')
  app.get('/api/profile', async (request) => ({ id: request.auth?.subject }))
  await app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  // Every interface, so the non-loopback address reaches it too.
  const port = await listen(app, '0.0.0.0')
  return { port, close: () => app.close() }
}

interface Outcome { kept: string[], sent: string, login: number, profile: number }

/** Sets the four cookies, reads back what the browser sends, then signs in with the library's cookie transport. */
async function probe (browser: Browser, origin: string): Promise<Outcome> {
  const context = await browser.createBrowserContext()
  try {
    const page = await context.newPage()
    await page.goto(`${origin}/`)
    return await page.evaluate(async (password) => {
      await fetch('/set')
      const sent = await (await fetch('/echo')).text()
      const login = (await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password }) })).status
      const profile = (await fetch('/api/profile')).status
      return { kept: sent.split('; ').filter(Boolean).map((c) => c.split('=')[0] as string).sort(), sent, login, profile }
    }, PASSWORD)
  } finally {
    await context.close()
  }
}

const ALL = ['__Host-host', '__Secure-sec', 'plain', 'secure']

// One plain-http server for the first two tests, one browser for the first and the last
// (certificate errors ignored: it stands in for a locally trusted certificate over https
// and changes nothing over http).
const shared = await launchChromium(t, ['--ignore-certificate-errors'])
if (shared !== null) await suite(shared)

async function suite (shared: Browser): Promise<void> {
  const { port, close } = await server()
  t.teardown(close)

  t.test('Chromium keeps Secure and __Host- cookies over plain http on localhost and 127.0.0.1, not on another address', async (t) => {
    const browser = shared
    for (const host of ['localhost', '127.0.0.1']) {
      const o = await probe(browser, `http://${host}:${port}`)
      t.same(o.kept, ALL, `http://${host}: every cookie is kept and sent back`)
      t.equal(o.login, 200, `http://${host}: login`)
      t.equal(o.profile, 200, `http://${host}: the __Host-gk_access cookie signs the page in`)
    }

    const lan = lanAddress()
    if (lan === null) {
      t.comment('SKIPPING the non-loopback row: this machine has no non-loopback IPv4 address')
      return
    }
    const o = await probe(browser, `http://${lan}:${port}`)
    t.same(o.kept, ['plain'], `http://${lan} (not loopback): only the cookie without Secure is kept`)
    t.equal(o.login, 200, `http://${lan}: the login itself succeeds`)
    t.equal(o.profile, 401, `http://${lan}: but the access cookie was dropped, so the page is not signed in`)
  })

  t.test('on another address, --unsafely-treat-insecure-origin-as-secure keeps Secure cookies but still refuses __Host- and __Secure- ones', async (t) => {
    const lan = lanAddress()
    if (lan === null) {
      t.comment('SKIPPING: this machine has no non-loopback IPv4 address')
      return
    }
    const origin = `http://${lan}:${port}`
    const browser = await launchChromium(t, [`--unsafely-treat-insecure-origin-as-secure=${origin}`])
    if (browser === null) return
    const o = await probe(browser, origin)
    t.same(o.kept, ['plain', 'secure'], `${origin} treated as secure: Secure is kept, the prefixed cookies are not (they need an https URL)`)
    t.equal(o.profile, 401, `${origin}: so the library's cookies still do not sign the page in`)
  })

  t.test('on another address over https (a certificate for that address), every cookie is kept', async (t) => {
    const lan = lanAddress()
    if (lan === null) {
      t.comment('SKIPPING: this machine has no non-loopback IPv4 address')
      return
    }
    const dir = mkdtempSync(join(tmpdir(), 'gk-tls-'))
    t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${lan}`,
        '-addext', `subjectAltName=IP:${lan}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    } catch {
      t.comment('SKIPPING: openssl is needed to make the test certificate')
      return
    }
    const tls = await server({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) })
    t.teardown(tls.close)
    const browser = shared
    const o = await probe(browser, `https://${lan}:${tls.port}`)
    t.same(o.kept, ALL, `https://${lan}: every cookie is kept`)
    t.equal(o.profile, 200, `https://${lan}: signed in`)
  })
}
