import type { InjectOptions } from 'fastify'
import t from 'tap'
import { auditEvents, auditSweep, bearer, createUser, login, PASSWORD, remember, securityApp } from './helpers.js'

// Secrets put everywhere a logger could pick them up (ASVS 7.1.1, 7.1.2; API8:2023; CWE-532): every request
// below is answered, logged and recorded; the sweep at the end of the file finds none of the secrets.
const COOKIE = '__Host-gk_access'
const { app } = await securityApp({ jwt: { cookie: { name: COOKIE }, routes: { register: true } }, refresh: { transport: 'both' }, apiKey: {} })
t.teardown(() => app.close())
const id = await createUser(app, 'alice')
const { body } = await login(app, 'alice')
const access = body.accessToken as string
const refreshToken = body.refreshToken as string
const key = remember((await app.gatekeeper.apiKeys.create({ ownerId: id, name: 'audit' })).key)
const newPassword = remember(`${PASSWORD}-new-one`)
const registered = remember(`${PASSWORD}-registered`)

t.test('requests carrying secrets in every place are answered and logged without them', async (t) => {
  const secretsOf = { access, refreshToken, key }
  const requests: Array<[string, InjectOptions]> = []
  for (const [what, secret] of Object.entries(secretsOf)) {
    for (const name of ['access_token', 'token', 'jwt', 'auth', 'x-api-key', 'apiKey', 'rt', 'q', 'refresh']) {
      requests.push([`${what} in ?${name}=`, { url: `/me?${name}=${secret}` }])
    }
    requests.push([`${what} inside a query value`, { url: `/me?next=/x?y=${secret}` }])
    requests.push([`${what} on an unknown route`, { url: `/nope?token=${secret}`, headers: { authorization: `Bearer ${secret}` } }])
    requests.push([`${what} in Authorization`, { url: '/me', headers: bearer(secret) }])
    requests.push([`${what} in Proxy-Authorization`, { url: '/me', headers: { 'proxy-authorization': `Bearer ${secret}` } }])
    requests.push([`${what} in a cookie`, { url: '/me', headers: { cookie: `${COOKIE}=${secret}; __Secure-gk_refresh=${secret}` } }])
    requests.push([`${what} in x-api-key`, { url: '/me', headers: { 'x-api-key': secret } }])
    requests.push([`${what} in a login body`, { method: 'POST', url: '/api/login', payload: { username: 'alice', password: secret } }])
  }
  requests.push(
    ['a failed login', { method: 'POST', url: '/api/login', payload: { username: 'alice', password: `${PASSWORD}x` } }],
    ['a login with the password in the wrong field type', { method: 'POST', url: '/api/login', payload: { username: 'alice', password: [PASSWORD] } }],
    ['a refresh', { method: 'POST', url: '/api/token/refresh', payload: { refreshToken } }],
    ['a replayed refresh (reuse alarm)', { method: 'POST', url: '/api/token/refresh', payload: { refreshToken } }],
    ['a password change', { method: 'POST', url: '/api/password', headers: bearer(access), payload: { currentPassword: PASSWORD, newPassword } }],
    ['a registration', { method: 'POST', url: '/api/register', payload: { username: 'bob', password: registered } }],
    ['a logout', { method: 'POST', url: '/api/logout', headers: bearer(access), payload: { refreshToken } }]
  )
  for (const [name, req] of requests) {
    const res = await app.inject(req)
    t.ok(res.statusCode < 500, `${name}: ${res.statusCode}`)
    // Responses never echo a secret the client sent, either (error messages say what, never the value).
    const echoed = res.statusCode >= 400 && Object.values(secretsOf).some((secret) => res.body.includes(secret))
    t.notOk(echoed, `${name}: the error body does not echo it`)
  }
  const created = await app.inject({ method: 'POST', url: '/api/keys', headers: bearer(access), payload: { name: 'second' } })
  if (created.statusCode === 201) remember(created.json().key)
  t.ok(auditEvents.length > 5, `${auditEvents.length} audit events recorded`)
})

t.test('secureLogger keeps a logMethod hook of the application and still scrubs the message it gets', async (t) => {
  const lines: string[] = []
  const seen: unknown[][] = []
  const { Writable } = await import('node:stream')
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const Fastify = (await import('fastify')).default
  const { secureLogger } = await import('../../lib/core/logging.js')
  const logged = Fastify({
    logger: {
      ...secureLogger({ hooks: { logMethod (this: unknown, args: unknown[], method: (...a: unknown[]) => void) { seen.push(args); method.apply(this, args) } } }),
      stream
    }
  })
  t.teardown(() => logged.close())
  await logged.inject({ url: `/nowhere?jwt=${access}` })
  t.ok(seen.length > 0, 'the application\'s hook ran')
  t.notOk(seen.flat().some((a) => typeof a === 'string' && a.includes(access)), 'it received the scrubbed message')
  t.notOk(lines.join('').includes(access), 'and nothing logged carries the token [ASVS 7.1.1]')
})

auditSweep(t)
