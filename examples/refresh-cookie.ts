/**
 * A browser app with rotating refresh tokens: both tokens live in HttpOnly
 * cookies, out of reach of scripts. The access token lasts one minute, the
 * session seven idle days (thirty at most); every refresh rotates the refresh
 * token, and a stolen one presented after its rotation ends the session.
 *
 *   npx tsx examples/refresh-cookie.ts
 *
 * Open http://localhost:3000 (browsers accept Secure cookies from localhost
 * and 127.0.0.1 over plain http, not from another address: docs/jwt.md)
 * and sign in as alice / correct horse battery staple. The page calls
 * /api/profile every 20 seconds; after a minute you see it refresh and
 * retry on its own: every refresh renews the access cookie, so the page
 * stays signed in without a reload.
 *
 * The same with curl (it sends Secure cookies to localhost too):
 *
 *   curl -s -c jar localhost:3000/api/login -H 'content-type: application/json' \
 *     -d '{"username":"alice","password":"correct horse battery staple"}'
 *   curl -s -b jar localhost:3000/api/profile
 *   curl -s -b jar -c jar -X POST localhost:3000/api/token/refresh -H 'x-gk-csrf: 1'
 *   curl -s -b jar localhost:3000/api/sessions                 # "current": true
 *   curl -s -b jar -X POST localhost:3000/api/logout -H 'x-gk-csrf: 1'
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper, jwt, refresh, secureLogger } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

// In production both secrets come from your secret store and are the same on every instance.
const JWT_SECRET = process.env.JWT_SECRET ?? randomBytes(32).toString('base64url')
const REFRESH_SECRET = process.env.REFRESH_SECRET ?? randomBytes(32).toString('base64url')

const app = Fastify({ logger: secureLogger() })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  secret: JWT_SECRET,
  issuer: 'refresh-cookie-example',
  audience: 'api',
  accessTokenTtl: '1m',
  cookie: { name: '__Host-gk_access' },
  // Access tokens name their session (sid): after a logout, a password change or a
  // detected theft, the session's access token is refused at once, not at its exp.
  checkUser: { cacheTtl: '5s' }
})
await app.register(refresh, {
  transport: 'cookie',
  ttl: '30d',
  idleTtl: '7d',
  // Two tabs may refresh with the same cookie at once: the second gets the
  // same new token instead of setting off the theft alarm.
  reuseGrace: '10s',
  secret: REFRESH_SECRET
})

app.gatekeeper.on('anomaly', (event) => {
  if (event.type === 'refresh_reuse') app.log.warn({ familyId: event.familyId, userId: event.userId, ip: event.ip }, 'a refresh token was replayed: session revoked')
})

app.get('/api/profile', async (request) => ({ id: request.auth?.subject, roles: request.auth?.roles, at: new Date().toISOString() }))

// The browser side: what a single-page app does around fetch.
const client = `
const CSRF = { 'x-gk-csrf': '1' }
let refreshing = null

// One refresh at a time, shared by every request that got a 401.
function refreshOnce () {
  refreshing ??= fetch('/api/token/refresh', { method: 'POST', headers: CSRF })
    .then((res) => res.ok)
    .finally(() => { refreshing = null })
  return refreshing
}

async function api (path, init = {}) {
  const send = () => fetch(path, { ...init, headers: { ...CSRF, ...init.headers } })
  let res = await send()
  if (res.status === 401 && await refreshOnce()) res = await send()
  if (res.status === 401) showLogin() // the session is over: sign in again
  return res
}
`

const page = `<!doctype html>
<meta charset="utf-8"><title>refresh-cookie example</title>
<form id="login"><input name="username" value="alice"> <input name="password" type="password" value="correct horse battery staple"> <button>Sign in</button></form>
<button id="logout" hidden>Sign out</button>
<pre id="out"></pre>
<script>${client}
const out = document.getElementById('out')
const log = (line) => { out.textContent = new Date().toLocaleTimeString() + ' ' + line + '\\n' + out.textContent }
function showLogin () { document.getElementById('login').hidden = false; document.getElementById('logout').hidden = true }
document.getElementById('login').onsubmit = async (e) => {
  e.preventDefault()
  const body = JSON.stringify(Object.fromEntries(new FormData(e.target)))
  const res = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  log('login ' + res.status)
  if (res.ok) { e.target.hidden = true; document.getElementById('logout').hidden = false }
}
document.getElementById('logout').onclick = async () => { log('logout ' + (await api('/api/logout', { method: 'POST' })).status); showLogin() }
setInterval(async () => { if (document.getElementById('login').hidden) log('profile ' + await (await api('/api/profile')).text()) }, 20000)
</script>`

app.get('/', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send(page))

await app.gatekeeper.users?.create({ username: 'alice', password: 'correct horse battery staple', roles: ['user'] })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
