import { connect } from 'node:net'
import t from 'tap'
import { auditSweep, createUser, login, remember, runRows, securityApp, type Row } from './helpers.js'

const COOKIE = '__Host-gk_access'

const { app } = await securityApp({ jwt: { cookie: { name: COOKIE } }, apiKey: {} })
t.teardown(() => app.close())
const aliceId = await createUser(app, 'alice')
const token = (await login(app, 'alice')).body.accessToken as string
const other = remember((await app.gatekeeper.tokens!.issue({ id: aliceId, roles: ['user'] })).accessToken)

t.test('credentials travel only in the Authorization header or the cookie (table)', async (t) => {
  const rows: Row[] = [
    { name: 'no credential at all gets a bare challenge', cite: 'RFC 6750 §3.1, RFC 7235 §4.1', req: { url: '/me' }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: 'Basic credentials on a Bearer route are no credential of ours', cite: 'RFC 7235 §2.1, jwt_tool scheme confusion', req: { url: '/me', headers: { authorization: 'Basic YWxpY2U6cGFzc3dvcmQ=' } }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: 'another scheme carrying a valid token is not Bearer', cite: 'RFC 6750 §2.1', req: { url: '/me', headers: { authorization: `Token ${token}` } }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: '"Bearer" with no value', cite: 'RFC 6750 §2.1, §3.1 invalid_request', req: { url: '/me', headers: { authorization: 'Bearer' } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: '"Bearer " with an empty value', cite: 'RFC 6750 §2.1, §3.1 invalid_request', req: { url: '/me', headers: { authorization: 'Bearer ' } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: '"Bearer  " with a double-space value', cite: 'RFC 6750 §2.1, §3.1 invalid_request', req: { url: '/me', headers: { authorization: 'Bearer  ' } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'a tab instead of the space', cite: 'RFC 6750 §2.1 (1*SP), §3.1', req: { url: '/me', headers: { authorization: `Bearer\t${token}` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'a tab as the value', cite: 'RFC 6750 §2.1, §3.1', req: { url: '/me', headers: { authorization: 'Bearer \t' } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'a valid token followed by junk after a space', cite: 'RFC 6750 §2.1 b64token', req: { url: '/me', headers: { authorization: `Bearer ${token} x` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'two tokens separated by a comma', cite: 'RFC 6750 §2.1 b64token', req: { url: '/me', headers: { authorization: `Bearer ${token},${other}` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'a quoted token', cite: 'RFC 6750 §2.1 b64token', req: { url: '/me', headers: { authorization: `Bearer "${token}"` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'an Authorization header longer than any token (9 KB)', cite: 'ASVS 13.1.x input bounds, RFC 6750 §3.1', req: { url: '/me', headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'a genuine token in the access_token query parameter is never read', cite: 'RFC 6750 §2.3 / §5.3, ASVS 3.1.1', req: { url: `/me?access_token=${token}` }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: 'a genuine token in a ?token= query parameter is never read', cite: 'ASVS 3.1.1, OWASP API2:2023', req: { url: `/me?token=${token}` }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: 'a genuine token in a form-encoded body is never read', cite: 'RFC 6750 §2.2 (not supported)', req: { method: 'POST', url: '/me', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `access_token=${token}` }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: 'a genuine token in a JSON body is never read', cite: 'RFC 6750 §2.2', req: { method: 'POST', url: '/me', payload: { access_token: token } }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    { name: 'two different tokens in the header and the cookie', cite: 'ambiguous credentials; jwt_tool token smuggling', req: { url: '/me', headers: { authorization: `Bearer ${other}`, cookie: `${COOKIE}=${token}` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'a junk header token next to a genuine cookie', cite: 'ambiguous credentials', req: { url: '/me', headers: { authorization: 'Bearer a.b.c', cookie: `${COOKIE}=${token}` } }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'the token under another cookie name', cite: 'RFC 6265bis §4.1.3.2 (__Host- prefix)', req: { url: '/me', headers: { cookie: `gk_access=${token}` } }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    // Controls: the way in that must keep working, so the refusals above prove something.
    { name: 'control: the genuine token in the header', cite: 'RFC 6750 §2.1', req: { url: '/me', headers: { authorization: `Bearer ${token}` } }, status: 200 },
    { name: 'control: the scheme is case-insensitive', cite: 'RFC 7235 §2.1', req: { url: '/me', headers: { authorization: `bEaReR ${token}` } }, status: 200 },
    { name: 'control: several spaces after the scheme (1*SP)', cite: 'RFC 6750 §2.1', req: { url: '/me', headers: { authorization: `Bearer   ${token}` } }, status: 200 },
    { name: 'control: the same token in header and cookie', cite: 'RFC 6750 §2.1', req: { url: '/me', headers: { authorization: `Bearer ${token}`, cookie: `${COOKIE}=${token}` } }, status: 200 },
    { name: 'control: the genuine cookie', cite: 'RFC 6265bis', req: { url: '/me', headers: { cookie: `${COOKIE}=${token}` } }, status: 200 }
  ]
  await runRows(t, app, rows)
})

t.test('a request whose headers exceed the server limit is refused quickly, before any handler', async (t) => {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const rows: Array<[string, string, RegExp]> = [
    ['a 64 KB Authorization header', `Authorization: Bearer ${'a'.repeat(64 * 1024)}\r\n`, /^HTTP\/1\.1 431 /],
    ['a 64 KB cookie', `Cookie: ${COOKIE}=${'b'.repeat(64 * 1024)}\r\n`, /^HTTP\/1\.1 431 /],
    ['2000 small headers', Array.from({ length: 2000 }, (_, i) => `x-h${i}: ${'c'.repeat(30)}\r\n`).join(''), /^HTTP\/1\.1 431 /]
  ]
  for (const [name, headers, expected] of rows) {
    const started = performance.now()
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      let data = ''
      socket.setTimeout(5000, () => { socket.destroy(); reject(new Error('no answer in 5 s')) })
      socket.on('data', (d) => { data += String(d) })
      socket.on('error', () => resolve(data))
      socket.on('close', () => resolve(data))
      socket.write(`GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`)
    })
    const ms = performance.now() - started
    t.match(answer, expected, `${name}: 431 Request Header Fields Too Large [RFC 6585 §5, ASVS 13.1]`)
    // Generous: the point is that no handler, hashing or store read runs.
    t.ok(ms < 2000, `${name}: answered in ${ms.toFixed(0)} ms`)
  }
})

auditSweep(t)
