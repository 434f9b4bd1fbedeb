/**
 * Passkeys in the demo: the `passkeys` plugin for the demo's origin and a
 * small page at /passkeys that signs in with a password, registers a passkey
 * (@simplewebauthn/browser), lists and removes them, and signs in again with
 * the passkey alone. Open it in a browser with a platform authenticator or a
 * security key, on http://localhost (browsers offer WebAuthn to secure
 * origins only; localhost counts as one).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { passkeys } from 'fastify-gatekeeper/passkeys'

const require = createRequire(import.meta.url)
// The browser library's single-file build (it defines the SimpleWebAuthnBrowser global).
const bundle = readFileSync(join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8')

const page = `<!doctype html><meta charset="utf-8"><title>Passkeys — fastify-gatekeeper demo</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto}button{margin:.2em}pre{background:#eee;padding:.5em}</style>
<h1>Passkeys</h1>
<p><input id="username" value="user" autocomplete="username webauthn"> <input id="password" type="password" placeholder="password">
<button id="login">Sign in with password</button></p>
<p><button id="register">Add a passkey</button> <input id="name" value="this device"></p>
<p><button id="list">My passkeys</button> <button id="passkey">Sign in with a passkey</button> <button id="logout">Forget the token</button></p>
<pre id="out"></pre>
<script src="/passkeys/simplewebauthn-browser.js"></script>
<script>
const { startRegistration, startAuthentication } = SimpleWebAuthnBrowser
const out = (v) => { document.getElementById('out').textContent = JSON.stringify(v, null, 2) }
let token = null
async function call (method, url, body) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = 'Bearer ' + token
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const json = res.status === 204 ? null : await res.json()
  if (json && json.accessToken) token = json.accessToken
  return { status: res.status, body: json }
}
const on = (id, fn) => document.getElementById(id).addEventListener('click', () => fn().then(out, (e) => out(String(e))))
on('login', async () => {
  const r = await call('POST', '/api/login', { username: document.getElementById('username').value, password: document.getElementById('password').value })
  return r.status === 200 ? { signedIn: true } : r
})
on('register', async () => {
  const start = await call('POST', '/api/passkeys/register/options', {})
  if (start.status !== 200) return start
  const response = await startRegistration({ optionsJSON: start.body.options })
  return call('POST', '/api/passkeys/register', { challenge: start.body.challenge, response, name: document.getElementById('name').value })
})
on('list', async () => call('GET', '/api/passkeys'))
on('passkey', async () => {
  const start = await call('POST', '/api/passkeys/login/options', {})
  const response = await startAuthentication({ optionsJSON: start.body.options })
  const r = await call('POST', '/api/passkeys/login', { challenge: start.body.challenge, response })
  return r.status === 200 ? { signedIn: true, with: 'passkey' } : r
})
on('logout', async () => { token = null; return { signedIn: false } })
</script>`

/** Registers the passkeys plugin for `origin` (its host is the RP ID) and serves the demo page. */
export async function registerPasskeyDemo (app: FastifyInstance, origin: string): Promise<void> {
  await app.register(passkeys, { rpID: new URL(origin).hostname, rpName: 'fastify-gatekeeper demo', origins: [origin] })
  app.get('/passkeys', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send(page))
  app.get('/passkeys/simplewebauthn-browser.js', { config: { auth: false } }, async (_request, reply) => reply.type('text/javascript').send(bundle))
}
