import t from 'tap'
import { jwtApp, loginAs, forge, claims, SECRET, ISSUER, AUDIENCE } from './helpers.js'

const INVALID = { statusCode: 401, code: 'GK_TOKEN_INVALID', error: 'Unauthorized', message: 'Invalid credentials' }
const CHALLENGE = 'Bearer realm="api", error="invalid_token"'
const H = { alg: 'HS256', typ: 'at+jwt' }

t.test('a token from login lets its user in, with request.auth filled', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  app.gatekeeper.setPermissionModel({ permissionsOf: (roles) => roles.includes('user') ? ['posts:read'] : [], grants: () => false })
  const { token, id } = await loginAs(app)
  const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200)
  const auth = res.json()
  t.match(auth, { strategy: 'jwt', kind: 'user', subject: id, roles: ['user'], permissions: ['posts:read'] })
  t.equal(typeof auth.tokenId, 'string')
  t.match(auth.claims, { sub: id, roles: ['user'], iss: ISSUER, aud: AUDIENCE, jti: auth.tokenId })
  t.equal(auth.claims.exp - auth.claims.iat, 900, 'fifteen minutes by default')
  const [header] = token.split('.')
  t.same(JSON.parse(Buffer.from(header as string, 'base64url').toString()), { alg: 'HS256', typ: 'at+jwt' })
})

t.test('no credential is a 401 GK_UNAUTHORIZED with a plain Bearer challenge', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const res = await app.inject('/me')
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_UNAUTHORIZED')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a token in the query string is never accepted', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { token } = await loginAs(app)
  for (const name of ['access_token', 'token', 'jwt']) {
    const res = await app.inject(`/me?${name}=${token}`)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, 'GK_UNAUTHORIZED')
  }
})

t.test('forged and broken tokens are refused with one body (table)', async (t) => {
  const { app, clock } = await jwtApp()
  t.teardown(() => app.close())
  const c = claims(clock)
  const now = Math.floor(clock.now / 1000)
  const valid = forge(H, c)
  const [vh, vp] = valid.split('.')
  const rows: Array<[string, string]> = [
    ['alg none', forge({ alg: 'none', typ: 'at+jwt' }, c, null)],
    ['alg NONE', forge({ alg: 'NONE', typ: 'at+jwt' }, c, null)],
    ['alg None', forge({ alg: 'None', typ: 'at+jwt' }, c, null)],
    ['alg nOnE with a signature', forge({ alg: 'nOnE', typ: 'at+jwt' }, c)],
    ['alg HS256 without a signature', forge(H, c, null)],
    ['alg HS512', forge({ alg: 'HS512', typ: 'at+jwt' }, c)],
    ['alg RS256 signed with the secret as HMAC', forge({ alg: 'RS256', typ: 'at+jwt' }, c)],
    ['no alg', forge({ typ: 'at+jwt' }, c)],
    ['typ JWT (an ID token or other JWT)', forge({ alg: 'HS256', typ: 'JWT' }, c)],
    ['no typ', forge({ alg: 'HS256' }, c)],
    ['embedded jwk', forge({ ...H, jwk: { kty: 'oct', k: Buffer.from(SECRET).toString('base64url') } }, c)],
    ['jku', forge({ ...H, jku: 'https://evil.example/jwks.json' }, c)],
    ['x5u', forge({ ...H, x5u: 'https://evil.example/cert.pem' }, c)],
    ['x5c', forge({ ...H, x5c: ['MIIB'] }, c)],
    ['crit', forge({ ...H, crit: ['exp'], exp: 1 }, c)],
    ['an unknown kid', forge({ ...H, kid: 'other' }, c)],
    ['a kid that is not a string', forge({ ...H, kid: 7 }, c)],
    ['nested JWT (cty: JWT)', forge({ ...H, cty: 'JWT' }, forge(H, c))],
    ['payload that is a string', forge(H, 'just a string')],
    ['payload that is an array', forge(H, [c])],
    ['payload that is a number', forge(H, 42)],
    ['payload that is null', forge(H, null)],
    ['wrong secret', forge(H, c, 'another-secret-another-secret-ab')],
    ['tampered payload', `${vh}.${Buffer.from(JSON.stringify({ ...c, roles: ['admin'] })).toString('base64url')}.${valid.split('.')[2]}`],
    ['tampered header', `${Buffer.from(JSON.stringify({ ...H, kid: undefined, x: 1 })).toString('base64url')}.${vp}.${valid.split('.')[2]}`],
    ['wrong issuer', forge(H, { ...c, iss: 'https://evil.example' })],
    ['issuer with different case', forge(H, { ...c, iss: ISSUER.toUpperCase() })],
    ['wrong audience', forge(H, { ...c, aud: 'other-api' })],
    ['audience array without ours', forge(H, { ...c, aud: ['x', 'y'] })],
    ['no sub', forge(H, { ...c, sub: undefined })],
    ['empty sub', forge(H, { ...c, sub: '' })],
    ['numeric sub', forge(H, { ...c, sub: 7 })],
    ['roles not an array', forge(H, { ...c, roles: 'admin' })],
    ['roles with a number', forge(H, { ...c, roles: ['user', 1] })],
    ['no jti', forge(H, { ...c, jti: undefined })],
    ['no iat', forge(H, { ...c, iat: undefined })],
    ['iat in the future', forge(H, { ...c, iat: now + 60 })],
    ['exp as a string', forge(H, { ...c, exp: String(now + 900) })],
    ['nbf in the future', forge(H, { ...c, nbf: now + 60 })],
    ['nbf as a string', forge(H, { ...c, nbf: 'soon' })],
    ['an unknown kind', forge(H, { ...c, kind: 'admin' })],
    ['scopes not an array', forge(H, { ...c, scopes: 'all' })],
    ['two segments', `${vh}.${vp}`],
    ['four segments', `${valid}.x`],
    ['JWE-like five segments', `${vh}.x.y.z.w`],
    ['plain garbage with a dot', 'garbage.'],
    ['header that is not JSON', `${Buffer.from('{nope').toString('base64url')}.${vp}.sig`],
    ['a long token', `${vh}.${'A'.repeat(8148)}.sig`]
  ]
  for (const [name, token] of rows) {
    const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, name)
    t.same(res.json(), INVALID, `${name}: same body`)
    t.equal(res.headers['www-authenticate'], CHALLENGE, `${name}: challenge`)
  }
  const ok = await app.inject({ url: '/me', headers: { authorization: `Bearer ${valid}` } })
  t.equal(ok.statusCode, 200, 'the untampered forged token is valid: the rows fail for their own reason')
})

t.test('tokens that are fine by the spec are accepted', async (t) => {
  const { app, clock } = await jwtApp()
  t.teardown(() => app.close())
  const c = claims(clock)
  const now = Math.floor(clock.now / 1000)
  const rows: Array<[string, string]> = [
    ['typ application/at+jwt (RFC 9068 §2.1)', forge({ alg: 'HS256', typ: 'application/at+jwt' }, c)],
    ['an audience array that contains ours', forge(H, { ...c, aud: ['other', AUDIENCE] })],
    ['nbf in the past', forge(H, { ...c, nbf: now - 10 })],
    ['iat a little ahead, within the tolerance', forge(H, { ...c, iat: now + 3 })]
  ]
  for (const [name, token] of rows) {
    const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 200, name)
  }
})

t.test('a malformed Authorization header is 400 invalid_request (RFC 6750 §3.1)', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  for (const value of ['Bearer', 'Bearer a b', 'Bearer "x"', 'Bearer x,y', 'Bearer aa=.bb.cc', 'Bearer ' + 'a'.repeat(8300)]) {
    const res = await app.inject({ url: '/me', headers: { authorization: value } })
    t.equal(res.statusCode, 400, value.slice(0, 20))
    t.equal(res.json().code, 'GK_INVALID_REQUEST')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_request"')
  }
  const other = await app.inject({ url: '/me', headers: { authorization: 'Basic dTpw' } })
  t.equal(other.statusCode, 401, 'another scheme is not ours: no credential')
  t.equal(other.json().code, 'GK_UNAUTHORIZED')
  const apiKey = { headers: { authorization: 'Bearer gk_abcdef0123456789' } } as never
  t.equal(app.gatekeeper.strategy('jwt')?.authenticate(apiKey, {} as never), null, 'a Bearer value without dots (an API key) is left to other strategies')
  t.equal((await app.inject({ url: '/me', ...(apiKey as object) })).statusCode, 401, 'and refused when no other strategy claims it')
})

t.test('expiry: refused from exp plus the tolerance on, as GK_TOKEN_EXPIRED, cached or not', async (t) => {
  const { app, clock } = await jwtApp()
  t.teardown(() => app.close())
  const { token } = await loginAs(app)
  const auth = { authorization: `Bearer ${token}` }
  const start = clock.now
  t.equal((await app.inject({ url: '/me', headers: auth })).statusCode, 200)
  clock.now = start + 900_000 + 4_999
  t.equal((await app.inject({ url: '/me', headers: auth })).statusCode, 200, 'inside the 5 s tolerance')
  clock.now = start + 900_000 + 5_000
  const res = await app.inject({ url: '/me', headers: auth })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { statusCode: 401, code: 'GK_TOKEN_EXPIRED', error: 'Unauthorized', message: 'Access token expired' })
  t.equal(res.headers['www-authenticate'], CHALLENGE)
  const again = await app.inject({ url: '/me', headers: auth })
  t.equal(again.json().code, 'GK_TOKEN_EXPIRED', 'and again after the cache dropped it (fresh verification)')
  const forged = forge(H, claims({ now: start - 3_600_000 }))
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${forged}` } })).json().code, 'GK_TOKEN_EXPIRED')
})

t.test('verified tokens are cached by hash and a bad token is never cached', async (t) => {
  const { app, clock } = await jwtApp({ cacheSize: 4 })
  t.teardown(() => app.close())
  const tokens = app.gatekeeper.tokens!
  const a = forge(H, claims(clock, { sub: 'a' }))
  const b = forge(H, claims(clock, { sub: 'b' }))
  t.equal(tokens.cacheSize, 0)
  for (const tok of [a, a]) await app.inject({ url: '/me', headers: { authorization: `Bearer ${tok}` } })
  t.equal(tokens.cacheSize, 1, 'the same token is cached once')
  await app.inject({ url: '/me', headers: { authorization: 'Bearer x.y.z' } })
  t.equal(tokens.cacheSize, 1, 'a bad token is not cached')
  for (let i = 0; i < 10; i++) {
    await app.inject({ url: '/me', headers: { authorization: `Bearer ${forge(H, claims(clock, { sub: `s${i}` }))}` } })
  }
  t.ok(tokens.cacheSize <= 4, 'bounded')
  const first = tokens.authenticate(b)
  t.equal(tokens.authenticate(b), first, 'a hit returns the cached context, synchronously')
  t.ok(Object.isFrozen(first), 'shared between requests, so frozen')
  t.ok(Object.isFrozen(first.roles) && Object.isFrozen(first.claims) && Object.isFrozen(first.claims?.roles), 'all the way down')
  t.throws(() => { (first.claims?.roles as string[]).push('admin') }, TypeError)
  const before = tokens.cacheSize
  tokens.evict('b')
  t.equal(tokens.cacheSize, before - 1)
  tokens.evict()
  t.equal(tokens.cacheSize, 0)
})

t.test('tokens.verify returns the claims; tokens.issue makes application tokens with scopes', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const issued = await app.gatekeeper.tokens!.issue({ id: 'svc-1', roles: ['service'] }, { kind: 'application', scopes: ['posts:read'] })
  t.match(issued, { tokenType: 'Bearer', expiresIn: 900 })
  const verified = await app.gatekeeper.tokens!.verify(issued.accessToken)
  t.match(verified, { sub: 'svc-1', kind: 'application', scopes: ['posts:read'] })
  const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${issued.accessToken}` } })
  t.match(res.json(), { kind: 'application', subject: 'svc-1', scopes: ['posts:read'] })
  await t.rejects(app.gatekeeper.tokens!.verify('nope'), { code: 'GK_TOKEN_INVALID' })
})

t.test('claims(user) adds claims but cannot override the registered ones', async (t) => {
  const { app } = await jwtApp({ claims: async (user) => ({ tenant: 'acme', sub: 'root', roles: ['admin'], exp: 9e9, name: user.username }) })
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app, 'carol')
  const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.match(res.json(), { subject: id, roles: ['user'], claims: { tenant: 'acme', name: 'carol', sub: id, roles: ['user'] } })
  t.ok(res.json().claims.exp < 9e9)
})

t.test('the accessTokenTtl option sets the lifetime', async (t) => {
  const { app } = await jwtApp({ accessTokenTtl: '5m' })
  t.teardown(() => app.close())
  const issued = await app.gatekeeper.tokens!.issue({ id: 'u', roles: [] })
  t.equal(issued.expiresIn, 300)
})
