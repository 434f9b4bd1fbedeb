import { connect } from 'node:net'
import t from 'tap'
import { oauth2 } from '../../lib/oauth2/index.js'
import { auditEvents, auditSweep, bearer, createUser, login, logLines, PASSWORD, remember, securityApp } from './helpers.js'

// Attacks (issue: "secrets that reach logs"): (a) a request the HTTP parser rejects had its raw bytes
// — Bearer token, x-api-key, cookies — logged at trace level (err.rawPacket); (b) an API key or a
// refresh token pasted into a URL path was logged; (c) a client secret sent as client_id landed in
// oauth.client_auth_failed; (d) a password typed into the username field landed in login.locked.
// The sweep at the end of the file checks every captured line and event for every secret used.

const { app, store } = await securityApp({
  apiKey: {},
  refresh: { transport: 'body' },
  setup: async (app) => { await app.register(oauth2, {}) }
})
t.teardown(() => app.close())
const aliceId = await createUser(app, 'alice')
const { body } = await login(app, 'alice')
const accessToken = body.accessToken as string
const refreshToken = body.refreshToken as string
const apiKey = remember((await app.gatekeeper.apiKeys.create({ ownerId: aliceId, name: 'ci' })).key)
const client = await app.gatekeeper.oauth2!.clients.create({ name: 'svc', scopes: ['reports:read'] })
const clientSecret = remember(client.secret)

/** Buffers serialised into a log line (`{"type":"Buffer","data":[71,69,…]}`), decoded: their bytes leak as much as text. */
function decodedBuffers (line: string): string {
  const out: string[] = []
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return
    const o = v as { type?: unknown, data?: unknown }
    if (o.type === 'Buffer' && Array.isArray(o.data)) out.push(Buffer.from(o.data as number[]).toString('latin1'))
    for (const x of Object.values(v)) walk(x)
  }
  try { walk(JSON.parse(line)) } catch {}
  return out.join('\n')
}

/** Lines (with any buffers in them decoded) and events captured from now on. */
function since (): () => string {
  const lines = logLines.length
  const events = auditEvents.length
  return () => logLines.slice(lines).map((l) => `${l}\n${decodedBuffers(l)}`).join('\n') + '\n' + auditEvents.slice(events).map((e) => JSON.stringify(e)).join('\n')
}

t.test('(a) a request the HTTP parser rejects: its raw bytes are not logged, at trace level either', async (t) => {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const captured = since()
  const head = (path: Buffer): Buffer => Buffer.concat([
    Buffer.from('GET '), path, Buffer.from(` HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${accessToken}\r\nx-api-key: ${apiKey}\r\nCookie: __Host-gk_access=${accessToken}; __Secure-gk_refresh=${refreshToken}\r\n\r\n`)
  ])
  for (const path of [Buffer.from('/me and more'), Buffer.from([0x2f, 0x63, 0x61, 0x66, 0xe9])]) {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(head(path)))
      let data = ''
      socket.on('data', (d) => { data += String(d) })
      socket.on('close', () => resolve(data))
      socket.on('error', reject)
    })
    t.match(answer, /^HTTP\/1\.1 400 /, 'the parser refused it: 400')
  }
  const text = captured()
  t.match(text, /client error/, 'Fastify logged its client-error line')
  for (const secret of [accessToken, apiKey, refreshToken]) t.notOk(text.includes(secret), `${secret.slice(0, 6)}… is not in it`)
  t.notOk(/rawPacket":\{/.test(text), 'no raw packet serialised')
})

t.test('(b) an API key or a refresh token pasted into a URL path is not logged', async (t) => {
  const captured = since()
  const del = await app.inject({ method: 'DELETE', url: `/api/keys/${apiKey}`, headers: bearer(accessToken) })
  t.equal(del.statusCode, 404, 'revoking a key by its value finds no key')
  await app.inject({ method: 'GET', url: `/api/sessions/${refreshToken}`, headers: bearer(accessToken) })
  await app.inject({ method: 'GET', url: `/nowhere/${accessToken}/x`, headers: bearer(accessToken) })
  await app.inject({ method: 'GET', url: `/nowhere/${clientSecret}` })
  const text = captured()
  t.match(text, /\[Redacted\]/, 'the path segment is logged as [Redacted]')
  for (const secret of [apiKey, refreshToken, accessToken, clientSecret]) t.notOk(text.includes(secret), `${secret.slice(0, 6)}… is not in the log`)
})

t.test('(c) a client secret sent as client_id is logged only as a fingerprint', async (t) => {
  const captured = since()
  const res = await app.inject({
    method: 'POST',
    url: '/api/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientSecret, client_secret: 'not-it' }).toString()
  })
  t.equal(res.statusCode, 401)
  const failed = auditEvents.filter((e) => (e as { type?: string }).type === 'oauth.client_auth_failed').at(-1) as Record<string, unknown>
  t.ok(failed, 'oauth.client_auth_failed recorded')
  t.equal(failed.clientId, null, 'no client id: the value is not one we issue')
  t.match(failed.clientIdFingerprint, /^fp_[\w-]{12}$/, 'a fingerprint to correlate attempts')
  t.notOk(captured().includes(clientSecret), 'the secret is nowhere')
  const wrong = await app.inject({
    method: 'POST',
    url: '/api/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: remember(`${clientSecret.slice(0, -1)}x`) }).toString()
  })
  t.equal(wrong.statusCode, 401)
  const named = auditEvents.filter((e) => (e as { type?: string }).type === 'oauth.client_auth_failed').at(-1) as Record<string, unknown>
  t.equal(named.clientId, client.id, 'an id we issued is logged as is')
})

t.test('(d) a password typed into the username field never lands in an event or a log line', async (t) => {
  const captured = since()
  for (let i = 0; i < 6; i++) await app.inject({ method: 'POST', url: '/api/login', payload: { username: PASSWORD, password: 'alice' } })
  const locked = auditEvents.filter((e) => (e as { type?: string }).type === 'login.locked').at(-1) as Record<string, unknown>
  t.ok(locked, 'the name was locked')
  t.equal(locked.userId, null)
  t.notOk('login' in locked && locked.login !== undefined && locked.login !== null, 'no login name for an account that does not exist')
  t.match(locked.loginFingerprint, /^fp_[\w-]{12}$/, 'a fingerprint instead')
  t.notOk(captured().includes(PASSWORD), 'the password is nowhere')
  for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'Alice', password: remember(`${PASSWORD}-${i}`) } })
  const known = auditEvents.filter((e) => (e as { type?: string }).type === 'login.locked').at(-1) as Record<string, unknown>
  t.equal(known.login, 'alice', 'an existing account is named')
  t.equal(known.userId, aliceId)
  t.ok(store)
})

auditSweep(t)
