import t from 'tap'
import { REFRESH_COOKIE, SESSION_COOKIE } from '../../lib/refresh/cookies.js'
import { cookieValue, createUser, CSRF, login, refreshApp, refreshWith, setCookies } from './helpers.js'

const cookieApp = (refresh = {}) => refreshApp({ jwt: { cookie: {} }, refresh })

t.test('with the access token in a cookie, the refresh token defaults to a cookie too', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { body, res } = await login(app)
  t.equal(app.gatekeeper.refresh?.transport, 'cookie')
  t.equal(body.refreshToken, undefined, 'the token is not in the body, out of reach of scripts')
  t.match(body, { refreshExpiresIn: 7 * 86_400, sessionId: String })
  const cookies = setCookies(res)
  const refreshCookies = cookies.filter((c) => c.startsWith(`${REFRESH_COOKIE}=`))
  t.equal(refreshCookies.length, 2, 'one for the refresh route, one for the logout route')
  for (const [c, path] of [[refreshCookies[0], '/api/token/refresh'], [refreshCookies[1], '/api/logout']] as const) {
    t.match(c, /; Max-Age=604800/)
    t.match(c, new RegExp(`; Path=${path.replaceAll('/', '\\/')}(;|$)`))
    t.match(c, /; HttpOnly/)
    t.match(c, /; Secure/)
    t.match(c, /; SameSite=Strict/)
    t.notMatch(c, /Domain=/)
  }
  t.equal(cookieValue(res, REFRESH_COOKIE, '/api/token/refresh'), cookieValue(res, REFRESH_COOKIE, '/api/logout'))
  const session = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))
  t.match(session, new RegExp(`^${SESSION_COOKIE}=${body.sessionId}; Max-Age=604800; Path=/api/sessions; HttpOnly; Secure; SameSite=Strict`))
})

t.test('the cookie refreshes with the CSRF defence, and rotates', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { res: loginRes } = await login(app)
  const token = cookieValue(loginRes, REFRESH_COOKIE, '/api/token/refresh') as string
  const cookie = `${REFRESH_COOKIE}=${token}`

  const rows: Array<[string, Record<string, string>]> = [
    ['no CSRF header', {}],
    ['a cross-site Sec-Fetch-Site', { ...CSRF, 'sec-fetch-site': 'cross-site' }],
    ['a foreign Origin', { ...CSRF, origin: 'https://evil.example' }],
    ['an opaque Origin', { ...CSRF, origin: 'null' }]
  ]
  for (const [name, headers] of rows) {
    const res = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie, ...headers } })
    t.equal(res.statusCode, 403, name)
    t.equal(res.json().code, 'GK_FORBIDDEN', name)
  }

  const res = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie, ...CSRF, 'sec-fetch-site': 'same-origin' } })
  t.equal(res.statusCode, 200, 'the refused attempts did not consume the token')
  t.equal(res.json().refreshToken, undefined)
  t.match(res.json(), { accessToken: String, refreshExpiresIn: 7 * 86_400 })
  const next = cookieValue(res, REFRESH_COOKIE, '/api/token/refresh')
  t.ok(next !== undefined && next !== token, 'a new cookie')
  t.equal(cookieValue(res, REFRESH_COOKIE, '/api/logout'), next)

  const json = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH_COOKIE}=${next}`, ...CSRF, 'content-type': 'application/json' } })
  t.equal(json.statusCode, 200, 'an empty JSON body is no body')
})

t.test('a cookie-only transport ignores a token in the body', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { res } = await login(app)
  const token = cookieValue(res, REFRESH_COOKIE, '/api/token/refresh')
  const r = await refreshWith(app, token)
  t.equal(r.statusCode, 401)
  t.equal(r.json().code, 'GK_INVALID_GRANT')
})

t.test('a refused cookie is cleared', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH_COOKIE}=garbage`, ...CSRF } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_INVALID_GRANT')
  const cleared = setCookies(res).filter((c) => /Max-Age=0|Expires=Thu, 01 Jan 1970/.test(c))
  t.equal(cleared.length, 3, 'both refresh cookies and the session cookie')
})

t.test('logout through the cookie revokes the session and clears the cookies', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { res } = await login(app)
  const access = cookieValue(res, '__Host-gk_access', '/') as string
  const token = cookieValue(res, REFRESH_COOKIE, '/api/logout') as string
  const out = await app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: `__Host-gk_access=${access}; ${REFRESH_COOKIE}=${token}`, ...CSRF } })
  t.equal(out.statusCode, 204)
  const cleared = setCookies(out).filter((c) => c.startsWith(REFRESH_COOKIE) || c.startsWith(SESSION_COOKIE))
  t.equal(cleared.length, 3)
  for (const c of cleared) t.match(c, /Max-Age=0|Expires=Thu, 01 Jan 1970/)
  const again = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH_COOKIE}=${token}`, ...CSRF } })
  t.equal(again.statusCode, 401)
})

t.test('transport both: body or cookie; the body needs no CSRF header', async (t) => {
  const { app } = await refreshApp({ refresh: { transport: 'both' } })
  t.teardown(() => app.close())
  await createUser(app)
  const { body, res } = await login(app)
  t.equal(cookieValue(res, REFRESH_COOKIE, '/api/token/refresh'), body.refreshToken, 'the same token in both places')
  const viaBody = await refreshWith(app, body.refreshToken)
  t.equal(viaBody.statusCode, 200)
  const noCsrf = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH_COOKIE}=${viaBody.json().refreshToken}` } })
  t.equal(noCsrf.statusCode, 403)
  const viaCookie = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH_COOKIE}=${viaBody.json().refreshToken}`, ...CSRF } })
  t.equal(viaCookie.statusCode, 200)
  t.equal(viaCookie.json().refreshToken, cookieValue(viaCookie, REFRESH_COOKIE, '/api/token/refresh'))
})

t.test('custom routes move the cookie paths', async (t) => {
  const { app } = await refreshApp({
    jwt: { cookie: {}, routes: { prefix: '/auth' } },
    refresh: { routes: { refresh: '/auth/refresh', logout: '/auth/logout', sessions: false, logoutAll: false } }
  })
  t.teardown(() => app.close())
  await createUser(app)
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'correct horse battery staple' } })
  t.ok(cookieValue(res, REFRESH_COOKIE, '/auth/refresh'))
  t.ok(cookieValue(res, REFRESH_COOKIE, '/auth/logout'))
  t.notOk(setCookies(res).some((c) => c.startsWith(SESSION_COOKIE)), 'no session cookie without the sessions route')
  const token = cookieValue(res, REFRESH_COOKIE, '/auth/refresh')
  const r = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: `${REFRESH_COOKIE}=${token}`, ...CSRF } })
  t.equal(r.statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/api/sessions' })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/api/logout/all' })).statusCode, 404)
})

t.test('a refresh on the cookie transport renews the access cookie, as login sets it', async (t) => {
  const { app } = await cookieApp()
  t.teardown(() => app.close())
  await createUser(app)
  const { res: loginRes } = await login(app)
  const token = cookieValue(loginRes, REFRESH_COOKIE, '/api/token/refresh') as string
  const res = await app.inject({ method: 'POST', url: '/api/token/refresh', headers: { cookie: `${REFRESH_COOKIE}=${token}`, ...CSRF } })
  t.equal(res.statusCode, 200)
  const access = setCookies(res).find((c) => c.startsWith('__Host-gk_access='))
  t.ok(access !== undefined, 'the access cookie is set')
  t.match(access, new RegExp(`^__Host-gk_access=${res.json().accessToken as string}; Max-Age=900; Path=/; HttpOnly; Secure; SameSite=Strict$`))
  const me = await app.inject({ url: '/me', headers: { cookie: `__Host-gk_access=${res.json().accessToken as string}` } })
  t.equal(me.statusCode, 200, 'and it lets the browser in')
})

t.test('logout and refresh refuse a cross-site request even without cookies, and a logout that ends nothing clears nothing', async (t) => {
  const { app, store } = await cookieApp()
  t.teardown(() => app.close())
  const id = await createUser(app)
  await login(app)
  const crossSite = [
    ['a cross-site Sec-Fetch-Site', { 'sec-fetch-site': 'cross-site' }],
    ['a same-site (other origin) Sec-Fetch-Site', { 'sec-fetch-site': 'same-site' }],
    ['a foreign Origin', { origin: 'http://127.0.0.1:1234' }],
    ['an opaque Origin', { origin: 'null' }]
  ] as const
  for (const url of ['/api/logout', '/api/token/refresh']) {
    for (const [name, headers] of crossSite) {
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain', ...headers }, payload: 'a=b' })
      t.equal(res.statusCode, 403, `${url}, ${name}: 403`)
      t.same(setCookies(res), [], `${url}, ${name}: no cookie cleared`)
    }
  }
  const plain = await app.inject({ method: 'POST', url: '/api/logout' })
  t.equal(plain.statusCode, 204, 'a logout with nothing to end still answers 204')
  t.same(setCookies(plain), [], 'and clears nothing')
  t.equal((await store.refreshTokens.listActive(id, new Date(Date.UTC(2030, 0, 1)))).length, 1, 'the session is alive')
})
