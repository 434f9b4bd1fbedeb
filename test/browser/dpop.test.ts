import t from 'tap'
import { dpopApp, PASSWORD } from '../dpop/helpers.js'
import { launchChromium, listen } from './chromium.js'

// The WebCrypto client of docs/dpop.md, in the page: a non-extractable ES256 key.
const page = `<!doctype html><meta charset="utf-8"><title>app</title><script>
const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '')
const text = (s) => b64(new TextEncoder().encode(s))
let keys, jwk
async function proof (htm, path, accessToken) {
  const ath = accessToken === undefined ? undefined : b64(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)))
  const input = text(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk })) + '.' + text(JSON.stringify({ htm, htu: location.origin + path, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), ath }))
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, new TextEncoder().encode(input))
  return input + '.' + b64(signature)
}
window.run = async (password) => {
  keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keys.publicKey)
  jwk = { kty, crv, x, y }
  const out = { extractable: keys.privateKey.extractable }
  const login = await (await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json', dpop: await proof('POST', '/api/login') }, body: JSON.stringify({ username: 'alice', password }) })).json()
  out.login = login.tokenType
  out.token = login.accessToken
  out.me = (await fetch('/strict', { headers: { authorization: 'DPoP ' + login.accessToken, dpop: await proof('GET', '/strict', login.accessToken) } })).status
  const refreshed = await fetch('/api/token/refresh', { method: 'POST', headers: { 'content-type': 'application/json', dpop: await proof('POST', '/api/token/refresh') }, body: JSON.stringify({ refreshToken: login.refreshToken }) })
  const next = await refreshed.json()
  out.refresh = refreshed.status + ' ' + next.tokenType
  out.meAfter = (await fetch('/strict', { headers: { authorization: 'DPoP ' + next.accessToken, dpop: await proof('GET', '/strict', next.accessToken) } })).status
  out.token2 = next.accessToken
  out.logout = (await fetch('/api/logout', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'DPoP ' + next.accessToken, dpop: await proof('POST', '/api/logout', next.accessToken) }, body: JSON.stringify({ refreshToken: next.refreshToken }) })).status
  return out
}
</script>`

t.test('Chromium with a non-extractable WebCrypto key logs in, calls, refreshes and logs out with DPoP; the copied token is useless from Node', async (t) => {
  const browser = await launchChromium(t)
  if (browser === null) return
  // The origin of the proofs is the page's own: no publicOrigin, the request's origin.
  const a = await dpopApp({}, { now: Date.now }, undefined, null)
  a.app.get('/', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send(page))
  await a.app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const port = await listen(a.app)
  t.teardown(() => a.app.close())
  const tab = await browser.newPage()
  await tab.goto(`http://127.0.0.1:${port}/`)
  const out = await tab.evaluate(async (pw) => await (globalThis as unknown as { run: (pw: string) => Promise<Record<string, unknown>> }).run(pw), PASSWORD)
  t.equal(out.extractable, false, 'the private key cannot be exported by script')
  t.equal(out.login, 'DPoP', 'login issues a bound token')
  t.equal(out.me, 200, 'a route requiring DPoP lets the browser in')
  t.equal(out.refresh, '200 DPoP', 'refresh with a proof by the same key')
  t.equal(out.meAfter, 200)
  t.equal(out.logout, 204)
  t.ok(a.events.some((e) => e.type === 'session.revoked'), 'logout ended the session')
  // A token copied out of the page (an XSS, a log) and replayed from Node without the key.
  for (const token of [out.token, out.token2] as string[]) {
    const bearer = await fetch(`http://127.0.0.1:${port}/strict`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(bearer.status, 401, 'as Bearer')
    const bare = await fetch(`http://127.0.0.1:${port}/strict`, { headers: { authorization: `DPoP ${token}` } })
    t.equal(bare.status, 401, 'as DPoP without a proof')
    t.equal(((await bare.json()) as { code: string }).code, 'GK_DPOP_PROOF_INVALID')
  }
})
