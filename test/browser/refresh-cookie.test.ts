import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { launchChromium, listen, until } from './chromium.js'

const PASSWORD = 'correct horse battery staple'

// The client of examples/refresh-cookie.ts and docs/refresh.md: one refresh at a
// time, retry once, sign in again only when the refresh itself is refused.
const page = `<!doctype html><meta charset="utf-8"><title>app</title><script>
const CSRF = { 'x-gk-csrf': '1' }
let refreshing = null
window.events = []
function refreshOnce () {
  refreshing ??= fetch('/api/token/refresh', { method: 'POST', headers: CSRF })
    .then((res) => { window.events.push('refresh ' + res.status); return res.ok })
    .finally(() => { refreshing = null })
  return refreshing
}
async function api (path, init = {}) {
  const send = () => fetch(path, { ...init, headers: { ...CSRF, ...init.headers } })
  let res = await send()
  if (res.status === 401 && await refreshOnce()) res = await send()
  if (res.status === 401) window.events.push('signed out')
  return res
}
window.signIn = async () => (await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'alice', password: ${JSON.stringify(PASSWORD)} }) })).status
window.poll = () => setInterval(async () => { window.events.push('profile ' + (await api('/api/profile')).status) }, 200)
</script>`

t.test('a page on the cookie transport stays signed in across three access-token expiries, without a reload', async (t) => {
  const browser = await launchChromium(t)
  if (browser === null) return
  const app = Fastify({ forceCloseConnections: true })
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  // One second: the browser drops the cookie (Max-Age=1) every second, as it did after a
  // minute in the report. The two-second tolerance keeps a just-refreshed token valid on
  // the server for the retry, however slow the machine (iat is whole seconds).
  await app.register(jwt, { secret: 'x'.repeat(32), issuer: 'browser-test', audience: 'api', accessTokenTtl: '1s', clockTolerance: '2s', cookie: {} })
  await app.register(refresh, { transport: 'cookie', reuseGrace: '10s', secret: 'r'.repeat(32) })
  app.get('/', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send(page))
  app.get('/api/profile', async (request) => ({ id: request.auth?.subject }))
  let refused = 0
  let refreshed = 0
  app.addHook('onResponse', async (request, reply) => {
    if (request.url === '/api/profile' && reply.statusCode === 401) refused++
  })
  app.gatekeeper.on('token.refreshed', () => { refreshed++ })
  await app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const port = await listen(app)
  t.teardown(() => app.close())

  const tab = await browser.newPage()
  let navigations = 0
  tab.on('framenavigated', (frame) => { if (frame === tab.mainFrame()) navigations++ })
  // localhost is a secure context over plain http: Chromium keeps the Secure, __Host- and __Secure- cookies.
  await tab.goto(`http://localhost:${port}/`)
  t.equal(await tab.evaluate(() => (globalThis as any).signIn()), 200, 'signed in')
  await tab.evaluate(() => { (globalThis as any).poll() })

  const seen = async (): Promise<string[]> => await tab.evaluate(() => [...(globalThis as any).events]) as string[]
  // Stops early once the page is signed out: that is the failure this test is about.
  const out = async (): Promise<boolean> => (await seen()).includes('signed out')
  await until(async () => refreshed >= 3 || await out(), 'three refreshes')
  // One more call after the third refresh, so it is known to have carried the renewed cookie.
  const after = (await seen()).length
  await until(async () => (await seen()).slice(after).some((e) => e === 'profile 200') || await out(), 'a call after the third refresh')
  const events = await seen()

  t.ok(refused >= 3, `the API refused the page ${refused} times once its access cookie had expired`)
  t.notOk(events.includes('signed out'), 'the page was never sent back to the login form')
  t.same(events.filter((e) => e.startsWith('profile ') && e !== 'profile 200'), [], 'every call answered 200 in the end')
  t.ok(events.filter((e) => e === 'refresh 200').length >= 3, 'each expiry was met by a refresh')
  t.equal(navigations, 1, 'no reload: the one navigation is the first load')
  const cookies = await browser.cookies()
  t.ok(cookies.some((c) => c.name === '__Host-gk_access'), 'the renewed access cookie is in the jar')
})
