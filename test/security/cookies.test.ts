import t from 'tap'
import { auditSweep, b64raw, claims, createUser, login, runRows, securityApp, setCookieHeaders, type Row } from './helpers.js'

const ACCESS = '__Host-gk_access'
const REFRESH = '__Secure-gk_refresh'
const CSRF = { 'x-gk-csrf': '1' }
const ORIGIN = 'http://localhost:80'

const { app, clock } = await securityApp({
  jwt: { cookie: { name: ACCESS } },
  refresh: {},
  setup (app) {
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) app.route({ method, url: '/me', handler: async (req) => req.auth })
  }
})
t.teardown(() => app.close())
await createUser(app, 'alice')
const { res: loginRes } = await login(app, 'alice')
const cookieOf = (name: string): string => (loginRes.cookies as Array<{ name: string, value: string }>).find((c) => c.name === name)?.value as string
const access = cookieOf(ACCESS)
const accessCookie = { cookie: `${ACCESS}=${access}` }

t.test('login sets every cookie HttpOnly, Secure, SameSite=Strict, prefixed and narrowly scoped (table)', async (t) => {
  const rows: Array<[string, RegExp, string]> = [
    [ACCESS, /; Path=\/(;|$)/, '__Host-: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2)'],
    [REFRESH, /; Path=\/api\/token\/refresh(;|$)/, '__Secure- and scoped to the refresh route (RFC 6265bis §4.1.3.1; RFC 9700 §4.14)'],
    ['__Secure-gk_session', /; Path=\/api\/sessions(;|$)/, 'scoped to the sessions route']
  ]
  const headers = setCookieHeaders(loginRes)
  for (const [name, path, cite] of rows) {
    const set = headers.find((h) => h.startsWith(`${name}=`) && path.test(h))
    t.ok(set, `${name} is set with ${path} [${cite}]`)
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict']) t.ok(set?.includes(`; ${attr}`), `${name}: ${attr} [ASVS 3.4.1-3.4.3]`)
    t.notMatch(set ?? '', /domain=/i, `${name}: no Domain [ASVS 3.4.4]`)
    t.match(set ?? '', /Max-Age=\d+/, `${name}: a bounded lifetime`)
  }
  t.ok(headers.some((h) => h.startsWith(`${REFRESH}=`) && /; Path=\/api\/logout(;|$)/.test(h)), 'a copy of the refresh cookie goes to the logout route only, so a browser can end its session')
  t.notOk(headers.some((h) => h.startsWith(`${REFRESH}=`) && /; Path=\/(;|$)/.test(h)), 'the refresh cookie is never sent to every path [ASVS 3.4.5]')
  t.equal(loginRes.headers['cache-control'], 'no-store', 'the login answer is not cached [RFC 6749 §5.1; ASVS 8.2.1]')
})

t.test('cookie-authenticated unsafe requests need the CSRF defence (table)', async (t) => {
  const forbidden = (name: string, cite: string, req: Row['req']): Row => ({ name, cite, req, status: 403, code: 'GK_FORBIDDEN' })
  const post = (headers: Record<string, string>, extra: Record<string, unknown> = {}): Row['req'] => ({ method: 'POST', url: '/me', headers: { ...accessCookie, ...headers }, ...extra })
  const rows: Row[] = [
    forbidden('a foreign Origin (with the CSRF header)', 'ASVS 13.2.3 / 4.2.2 (CSRF); OWASP CSRF cheat sheet (Origin check)', post({ ...CSRF, origin: 'https://evil.example' })),
    forbidden('an Origin that only starts like ours', 'origin prefix confusion', post({ ...CSRF, origin: `${ORIGIN}.evil.example` })),
    forbidden('our host over another scheme', 'RFC 6454 (scheme is part of the origin)', post({ ...CSRF, origin: 'https://localhost:80' })),
    forbidden('the opaque Origin null (sandboxed iframe, data: URL)', 'RFC 6454 §7.3; PortSwigger CSRF null origin', post({ ...CSRF, origin: 'null' })),
    forbidden('Sec-Fetch-Site: cross-site', 'Fetch Metadata (W3C); ASVS 13.2.3', post({ ...CSRF, 'sec-fetch-site': 'cross-site' })),
    forbidden('Sec-Fetch-Site: same-site (a sibling subdomain)', 'Fetch Metadata; cookie tossing from a subdomain', post({ ...CSRF, 'sec-fetch-site': 'same-site' })),
    forbidden('no CSRF header', 'OWASP CSRF cheat sheet (custom request header)', post({})),
    forbidden('an empty CSRF header', 'custom request header', post({ 'x-gk-csrf': '' })),
    forbidden('a text/plain body without the header (a cross-site form can send it)', 'PortSwigger CSRF (text/plain form); ASVS 13.2.3', post({ 'content-type': 'text/plain' }, { payload: '{"x":1}' })),
    forbidden('a form-encoded body without the header', 'classic form CSRF', post({ 'content-type': 'application/x-www-form-urlencoded' }, { payload: 'x=1' })),
    forbidden('PUT without the header', 'ASVS 13.2.3', { method: 'PUT', url: '/me', headers: accessCookie }),
    forbidden('PATCH without the header', 'ASVS 13.2.3', { method: 'PATCH', url: '/me', headers: accessCookie }),
    forbidden('DELETE without the header', 'ASVS 13.2.3', { method: 'DELETE', url: '/me', headers: accessCookie }),
    forbidden('the refresh route carried by its cookie, without the header', 'RFC 9700 §4.14; ASVS 13.2.3', { method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH}=${cookieOf(REFRESH)}` } }),
    forbidden('the refresh route carried by its cookie from a foreign Origin', 'ASVS 13.2.3', { method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH}=${cookieOf(REFRESH)}`, origin: 'https://evil.example', ...CSRF } }),
    forbidden('logout carried by cookies, without the header', 'logout CSRF', { method: 'POST', url: '/api/logout', headers: { ...accessCookie } }),
    forbidden('login from a foreign Origin', 'login CSRF (OWASP); ASVS 13.2.3', { method: 'POST', url: '/api/login', headers: { origin: 'https://evil.example' }, payload: { username: 'alice', password: 'irrelevant-password' } }),
    forbidden('login from a cross-site fetch', 'login CSRF; Fetch Metadata', { method: 'POST', url: '/api/login', headers: { 'sec-fetch-site': 'cross-site' }, payload: { username: 'alice', password: 'irrelevant-password' } }),
    { name: 'control: a safe GET with the cookie alone', cite: 'RFC 9110 §9.2.1', req: { url: '/me', headers: accessCookie }, status: 200 },
    { name: 'control: a same-origin POST with the header', cite: 'OWASP CSRF cheat sheet', req: post({ ...CSRF, origin: ORIGIN, 'sec-fetch-site': 'same-origin' }), status: 200 }
  ]
  await runRows(t, app, rows)
})

t.test('tampered or malformed cookies are 4xx, never 500 (table)', async (t) => {
  const [h, p, s] = access.split('.') as [string, string, string]
  const unauthorized = (name: string, cite: string, cookie: string): Row => ({ name, cite, req: { url: '/me', headers: { cookie } }, status: 401 })
  const rows: Row[] = [
    { ...unauthorized('the access cookie with a tampered payload', 'ASVS 3.5.3; PortSwigger JWT lab 1', `${ACCESS}=${h}.${b64raw(JSON.stringify(claims(clock, { roles: ['admin'] })))}.${s}`), code: 'GK_TOKEN_INVALID' },
    { ...unauthorized('the access cookie with its signature cut', 'ASVS 3.5.3', `${ACCESS}=${h}.${p}.`), code: 'GK_TOKEN_INVALID' },
    { ...unauthorized('a @fastify/cookie signed-cookie value', 'signed cookie tampering', `${ACCESS}=s:${access}.AAAA`), code: 'GK_TOKEN_INVALID' },
    { name: 'control: the genuine cookie percent-encoded decodes to the same token', cite: 'RFC 6265 §4.1.1', req: { url: '/me', headers: { cookie: `${ACCESS}=${access.replace(/\./g, '%2E')}` } }, status: 200 },
    unauthorized('broken percent-encoding', 'RFC 3986 §2.1 (decoder crash)', `${ACCESS}=%E0%A4%A`),
    unauthorized('a lone percent sign', 'decoder crash', `${ACCESS}=%`),
    unauthorized('a quoted value', 'RFC 6265 §4.1.1', `${ACCESS}="${h}.${p}.AAAA"`),
    unauthorized('8 KB of junk', 'ASVS 13.1', `${ACCESS}=${'x'.repeat(8000)}`),
    unauthorized('the token under a name without the __Host- prefix (cookie tossing)', 'RFC 6265bis §4.1.3.2', `gk_access=${access}`),
    unauthorized('the token under the prefix in another case', 'RFC 6265bis (prefixes are case-sensitive in our parser)', `__host-gk_access=${access}`),
    { name: 'two access cookies, a forged one first', cite: 'cookie tossing / shadowing (RFC 6265 §5.4 order)', req: { url: '/me', headers: { cookie: `${ACCESS}=${h}.${p}.AAAA; ${ACCESS}=${access}` } }, status: 401 },
    { name: 'a cookie header of separators only', cite: 'parser robustness', req: { url: '/me', headers: { cookie: ';;;=;=;' } }, status: 401 },
    { name: 'a tampered refresh cookie (with the CSRF header)', cite: 'RFC 6749 §5.2; ASVS 3.5', req: { method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH}=${cookieOf(REFRESH).slice(0, -2)}AA`, ...CSRF } }, status: 401, code: 'GK_INVALID_GRANT' },
    { name: 'a refresh cookie with broken percent-encoding', cite: 'decoder crash', req: { method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH}=%E0%A4%A`, ...CSRF } }, status: 401, code: 'GK_INVALID_GRANT' }
  ]
  await runRows(t, app, rows)
})

auditSweep(t)
