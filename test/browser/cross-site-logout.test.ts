import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { launchChromium, listen, until } from './chromium.js'

const PASSWORD = 'correct horse battery staple'

const appPage = `<!doctype html><meta charset="utf-8"><title>app</title><script>
const CSRF = { 'x-gk-csrf': '1' }
window.signIn = async () => (await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'alice', password: ${JSON.stringify(PASSWORD)} }) })).status
window.profile = async () => (await fetch('/api/profile', { headers: CSRF })).status
window.refresh = async () => (await fetch('/api/token/refresh', { method: 'POST', headers: CSRF })).status
window.logout = async () => (await fetch('/api/logout', { method: 'POST', headers: CSRF })).status
</script>`

/** The attacker's page: every way a page can send a POST to another site without a preflight. */
function attackPage (api: string): string {
  const forms = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'].map((type, i) =>
    `<form id="f${i}" method="post" action="${api}/api/logout" enctype="${type}" target="frame${i}"><input name="a" value="b"></form><iframe name="frame${i}"></iframe>`)
  return `<!doctype html><meta charset="utf-8"><title>evil</title>${forms.join('')}<script>
window.attack = async () => {
  for (const f of document.forms) f.submit()
  await fetch('${api}/api/logout', { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'x' }).catch(() => {})
  await fetch('${api}/api/token/refresh', { method: 'POST', mode: 'no-cors', credentials: 'include' }).catch(() => {})
  navigator.sendBeacon('${api}/api/logout', 'x')
}
</script>`
}

t.test('a page on another site cannot sign the user out, with or without cookies; the app itself can', async (t) => {
  const browser = await launchChromium(t)
  if (browser === null) return
  const store = memoryStore()
  // Chromium keeps connections alive: close them with the server rather than wait for them.
  const app = Fastify({ forceCloseConnections: true })
  await app.register(gatekeeper, { store, audit: { log: false } })
  await app.register(jwt, { secret: 'x'.repeat(32), issuer: 'browser-test', audience: 'api', cookie: {} })
  await app.register(refresh, { transport: 'cookie' })
  app.get('/', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send(appPage))
  app.get('/api/profile', async (request) => ({ id: request.auth?.subject }))
  const answers: Array<{ url: string, status: number, setCookie: boolean }> = []
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'POST' && request.url !== '/api/login') answers.push({ url: request.url, status: reply.statusCode, setCookie: reply.hasHeader('set-cookie') })
  })
  const alice = await app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const port = await listen(app)
  t.teardown(() => app.close())

  // localhost and 127.0.0.1 are different sites (ports never make a site): a real cross-site setup.
  const evil = createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end(attackPage(`http://localhost:${port}`)) })
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { evil.closeAllConnections(); evil.close() })
  const evilPort = (evil.address() as AddressInfo).port

  const tab = await browser.newPage()
  await tab.goto(`http://localhost:${port}/`)
  t.equal(await tab.evaluate(() => (globalThis as any).signIn()), 200, 'signed in')
  const sessions = async (): Promise<number> => (await store.refreshTokens.listActive(alice.id, new Date())).length
  t.equal(await sessions(), 1)

  const attacker = await browser.newPage()
  await attacker.goto(`http://127.0.0.1:${evilPort}/`)
  await attacker.evaluate(() => (globalThis as any).attack())
  // Three forms, two fetches and a beacon.
  await until(() => answers.length >= 6, 'the six cross-site requests')
  t.equal(answers.length, 6)
  for (const a of answers) {
    t.equal(a.status, 403, `cross-site POST ${a.url}: refused`)
    t.notOk(a.setCookie, `cross-site POST ${a.url}: no Set-Cookie`)
  }

  t.equal(await tab.evaluate(() => (globalThis as any).profile()), 200, 'the user is still signed in')
  t.equal(await sessions(), 1, 'the session is alive, not orphaned')
  t.equal(await tab.evaluate(() => (globalThis as any).refresh()), 200, 'and can still be refreshed')
  const names = (await browser.cookies()).map((c) => c.name).sort()
  t.same(names, ['__Host-gk_access', '__Secure-gk_refresh', '__Secure-gk_refresh', '__Secure-gk_session'], 'every cookie is still in the jar')

  answers.length = 0
  t.equal(await tab.evaluate(() => (globalThis as any).logout()), 204, 'the app itself signs out')
  t.equal(await sessions(), 0, 'which ends the session')
  t.same((await browser.cookies()).map((c) => c.name), [], 'and clears every cookie')
  t.equal(await tab.evaluate(() => (globalThis as any).profile()), 401)
})
