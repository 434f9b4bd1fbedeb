import t from 'tap'
import { AUDIENCE, auditSweep, bearer, claims, createUser, forge, HS_HEADER, ISSUER, login, runRows, securityApp, type Clock, type Row } from './helpers.js'

/** A token with `claims(clock)` changed by `patch` (`undefined` deletes a claim), HS256 with our secret. */
function token (clock: Clock, patch: Record<string, unknown>, header: Record<string, unknown> = HS_HEADER): string {
  const c = claims(clock)
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete c[k]
    else c[k] = v
  }
  return forge(header, c)
}

function row (name: string, cite: string, status: number, code: string | undefined, make: () => string): Row {
  const r: Row = { name, cite, req: () => ({ url: '/me', headers: bearer(make()) }), status }
  if (code !== undefined) {
    r.code = code
    r.challenge = 'invalid_token'
  }
  return r
}
const invalid = (name: string, cite: string, make: () => string): Row => row(name, cite, 401, 'GK_TOKEN_INVALID', make)
const expired = (name: string, cite: string, make: () => string): Row => row(name, cite, 401, 'GK_TOKEN_EXPIRED', make)
const ok = (name: string, cite: string, make: () => string): Row => row(`control: ${name}`, cite, 200, undefined, make)

t.test('time claims: exp, nbf and iat are checked against our clock with the 5 s tolerance (table)', async (t) => {
  const { app, clock } = await securityApp()
  t.teardown(() => app.close())
  const now = clock.now / 1000
  const rows: Row[] = [
    ok('exp equal to now is inside the 5 s tolerance', 'RFC 7519 §4.1.4 (leeway)', () => token(clock, { exp: now })),
    ok('exp 4 s ago is inside the tolerance', 'RFC 7519 §4.1.4', () => token(clock, { exp: now - 4 })),
    expired('exp exactly the tolerance ago', 'RFC 7519 §4.1.4 (on or after)', () => token(clock, { exp: now - 5 })),
    expired('exp just past the tolerance', 'RFC 7519 §4.1.4', () => token(clock, { exp: now - 6 })),
    expired('exp a fractional second past the tolerance', 'RFC 7519 §2 NumericDate', () => token(clock, { exp: now - 5.5 })),
    ok('exp a non-integer NumericDate in the future', 'RFC 7519 §2 (non-integer values allowed)', () => token(clock, { exp: now + 600.5 })),
    expired('exp negative', 'RFC 7519 §4.1.4', () => token(clock, { exp: -1 })),
    expired('exp zero', 'RFC 7519 §4.1.4', () => token(clock, { exp: 0 })),
    invalid('exp missing', 'RFC 8725 §3.10 (required claims); ASVS 3.5.3', () => token(clock, { exp: undefined })),
    invalid('exp a numeric string', 'RFC 7519 §2 NumericDate', () => token(clock, { exp: String(now + 600) })),
    invalid('exp null', 'RFC 7519 §2', () => token(clock, { exp: null })),
    invalid('exp true', 'RFC 7519 §2', () => token(clock, { exp: true })),
    invalid('exp an array', 'RFC 7519 §2', () => token(clock, { exp: [now + 600] })),
    invalid('exp an object', 'RFC 7519 §2', () => token(clock, { exp: { $gt: 0 } })),
    invalid('exp 1e400 (Infinity once parsed)', 'RFC 7519 §2', () => forge(HS_HEADER, claims(clock)).replace(/\..*\./, `.${Buffer.from(JSON.stringify(claims(clock)).replace(/"exp":\d+/, '"exp":1e400')).toString('base64url')}.`)),
    invalid('exp huge (year 10^300), far past any lifetime we issue', 'RFC 8725 §3.10; ASVS 3.5.x (bounded token lifetime)', () => token(clock, { exp: 1e308 })),
    invalid('exp 61 minutes after iat, past the longest accessTokenTtl', 'RFC 8725 §3.10 (bounded token lifetime)', () => token(clock, { exp: now + 3660 })),
    invalid('iat in 1970 and exp in the future (a 60-year token)', 'RFC 8725 §3.10', () => token(clock, { iat: 12741967 })),
    ok('exp exactly 60 minutes after iat', 'the longest accessTokenTtl', () => token(clock, { exp: now + 3600 })),
    invalid('nbf a minute in the future', 'RFC 7519 §4.1.5', () => token(clock, { nbf: now + 60 })),
    ok('nbf 4 s ahead, inside the tolerance', 'RFC 7519 §4.1.5 (leeway)', () => token(clock, { nbf: now + 4 })),
    invalid('nbf a string', 'RFC 7519 §2', () => token(clock, { nbf: 'now' })),
    invalid('iat a minute in the future', 'RFC 7519 §4.1.6; RFC 8725 §3.10', () => token(clock, { iat: now + 60 })),
    invalid('iat missing', 'RFC 9068 §2.2 (iat required)', () => token(clock, { iat: undefined })),
    invalid('iat a string', 'RFC 7519 §2', () => token(clock, { iat: String(now) }))
  ]
  await runRows(t, app, rows)
})

t.test('with clockTolerance 0s a token whose exp equals now is expired', async (t) => {
  const { app, clock } = await securityApp({ jwt: { clockTolerance: '0s' } })
  t.teardown(() => app.close())
  const now = clock.now / 1000
  await runRows(t, app, [
    expired('exp equal to now', 'RFC 7519 §4.1.4 (MUST NOT be accepted on or after exp)', () => token(clock, { exp: now })),
    expired('exp a second ago', 'RFC 7519 §4.1.4', () => token(clock, { exp: now - 1 })),
    ok('exp a second ahead', 'RFC 7519 §4.1.4', () => token(clock, { exp: now + 1 }))
  ])
})

t.test('iss, aud, typ and the access-token claims must be exactly ours (table)', async (t) => {
  const { app, clock } = await securityApp()
  t.teardown(() => app.close())
  const rows: Row[] = [
    invalid('iss missing', 'RFC 8725 §3.8; RFC 9068 §4', () => token(clock, { iss: undefined })),
    invalid('iss of another issuer', 'RFC 8725 §3.8', () => token(clock, { iss: 'https://evil.example' })),
    invalid('iss case-changed', 'RFC 7519 §4.1.1 (case-sensitive)', () => token(clock, { iss: ISSUER.toUpperCase() })),
    invalid('iss with our issuer as a prefix', 'RFC 8725 §3.8 (prefix matching)', () => token(clock, { iss: `${ISSUER}.evil.example` })),
    invalid('iss a prefix of our issuer', 'RFC 8725 §3.8', () => token(clock, { iss: ISSUER.slice(0, -1) })),
    invalid('iss with a trailing slash', 'RFC 7519 §4.1.1 (exact)', () => token(clock, { iss: `${ISSUER}/` })),
    invalid('iss an array holding our issuer', 'RFC 7519 §4.1.1 (a StringOrURI, not an array)', () => token(clock, { iss: [ISSUER] })),
    invalid('iss null', 'RFC 7519 §4.1.1', () => token(clock, { iss: null })),
    invalid('aud missing', 'RFC 8725 §3.9; RFC 9068 §4', () => token(clock, { aud: undefined })),
    invalid('aud of another API', 'RFC 8725 §3.9 (cross-JWT confusion)', () => token(clock, { aud: 'payments.example' })),
    invalid('aud case-changed', 'RFC 7519 §4.1.3', () => token(clock, { aud: AUDIENCE.toUpperCase() })),
    invalid('aud with our audience as a prefix', 'RFC 8725 §3.9', () => token(clock, { aud: `${AUDIENCE}.evil` })),
    invalid('aud a prefix of our audience', 'RFC 8725 §3.9', () => token(clock, { aud: AUDIENCE.slice(0, -1) })),
    invalid('aud an array without our audience', 'RFC 7519 §4.1.3', () => token(clock, { aud: ['a', 'b'] })),
    invalid('aud an empty array', 'RFC 7519 §4.1.3', () => token(clock, { aud: [] })),
    invalid('aud null', 'RFC 7519 §4.1.3', () => token(clock, { aud: null })),
    ok('aud an array that contains our audience', 'RFC 7519 §4.1.3', () => token(clock, { aud: ['other.example', AUDIENCE] })),
    invalid('typ JWT (any JWT signed with our key)', 'RFC 8725 §3.11; RFC 9068 §2.1, §4', () => forge({ alg: 'HS256', typ: 'JWT' }, claims(clock))),
    invalid('typ absent', 'RFC 9068 §4 (typ required)', () => forge({ alg: 'HS256' }, claims(clock))),
    invalid('typ of a logout token', 'RFC 8725 §3.11', () => forge({ alg: 'HS256', typ: 'logout+jwt' }, claims(clock))),
    ok('typ application/at+jwt', 'RFC 9068 §2.1', () => forge({ alg: 'HS256', typ: 'application/at+jwt' }, claims(clock))),
    invalid('an ID token signed with the same key', 'RFC 8725 §2.8 / §3.11 (substitution); OIDC Core §2', () => forge({ alg: 'HS256', typ: 'JWT' }, { ...claims(clock), aud: 'client-id', nonce: 'n-0S6', auth_time: clock.now / 1000, azp: 'client-id' })),
    invalid('an ID token shape with our aud but typ JWT', 'RFC 8725 §3.11', () => forge({ alg: 'HS256', typ: 'JWT' }, { ...claims(clock), nonce: 'n-0S6' })),
    invalid('sub missing', 'RFC 9068 §2.2', () => token(clock, { sub: undefined })),
    invalid('sub empty', 'RFC 9068 §2.2', () => token(clock, { sub: '' })),
    invalid('sub a number', 'RFC 7519 §4.1.2 (StringOrURI)', () => token(clock, { sub: 42 })),
    invalid('sub an array', 'RFC 7519 §4.1.2', () => token(clock, { sub: ['u1', 'admin'] })),
    invalid('roles a string', 'ASVS 4.1.3 (claims typed)', () => token(clock, { roles: 'admin' })),
    invalid('roles an object', 'ASVS 4.1.3', () => token(clock, { roles: { admin: true } })),
    invalid('roles holding a number', 'ASVS 4.1.3', () => token(clock, { roles: [1] })),
    invalid('roles missing', 'ASVS 4.1.3', () => token(clock, { roles: undefined })),
    invalid('jti missing', 'RFC 9068 §2.2', () => token(clock, { jti: undefined })),
    invalid('kind neither user nor application', 'ASVS 4.1.3', () => token(clock, { kind: 'admin' })),
    invalid('scopes a string', 'ASVS 4.1.3', () => token(clock, { kind: 'application', scopes: '*' })),
    ok('a well-formed token made by hand', 'RFC 9068 §2.2', () => token(clock, {}))
  ]
  await runRows(t, app, rows)
})

t.test('a refresh token, or (with checkUser) a disabled or demoted user\'s token, is not an access token (table)', async (t) => {
  const { app } = await securityApp({ refresh: { transport: 'body' }, jwt: { checkUser: true } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'alice')
  const { body } = await login(app, 'alice')
  await createUser(app, 'mallory')
  const gone = (await login(app, 'mallory')).body.accessToken as string
  await app.gatekeeper.users.disable((await app.gatekeeper.store.users.findByLogin('mallory'))!.id)
  const rows: Row[] = [
    { name: 'the refresh token sent as a Bearer access token', cite: 'RFC 9700 §4.14; RFC 6750 §2.1 (token substitution)', req: { url: '/me', headers: bearer(body.refreshToken) }, status: 401 },
    { name: 'the refresh token in the access-token cookie', cite: 'token substitution', req: { url: '/me', headers: { cookie: `__Host-gk_access=${body.refreshToken}` } }, status: 401 },
    { name: 'the access token of a disabled user', cite: 'ASVS 3.3.x (revocation); API2:2023', req: { url: '/me', headers: bearer(gone) }, status: 401, code: 'GK_TOKEN_INVALID' },
    { name: 'control: alice\'s access token', cite: 'RFC 6750 §2.1', req: { url: '/me', headers: bearer(body.accessToken) }, status: 200 }
  ]
  await runRows(t, app, rows)
  t.equal((await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: body.refreshToken } })).statusCode, 200, 'the refresh token still works where it belongs')
  t.ok(id.length > 0)
})

t.test('without checkUser, a disabled user\'s access token is accepted until it expires (documented trade-off), and never refreshed', async (t) => {
  const { app, clock } = await securityApp({ refresh: { transport: 'body' } })
  t.teardown(() => app.close())
  const id = await createUser(app, 'mallory')
  const { body } = await login(app, 'mallory')
  await app.gatekeeper.users.disable(id)
  t.equal((await app.inject({ url: '/me', headers: bearer(body.accessToken) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: body.refreshToken } })).statusCode, 401, 'the session is revoked at once')
  clock.now += 15 * 60_000 + 5000
  t.equal((await app.inject({ url: '/me', headers: bearer(body.accessToken) })).statusCode, 401, 'and the access token dies with its exp')
})

auditSweep(t)
