import { decodeJwt } from 'jose'
import t from 'tap'
import { MemoryReplayCache } from '../../lib/dpop/replay.js'
import { Nonces } from '../../lib/dpop/nonce.js'
import { normalizeHtu } from '../../lib/dpop/htu.js'
import { call, dpopApp, holder, login, ORIGIN, proof } from './helpers.js'

t.test('a DPoP session: login binds the access token and the session, refresh keeps both bound, logout ends it', async (t) => {
  const a = await dpopApp()
  t.teardown(() => a.app.close())
  const h = await holder()
  const { status, body } = await login(a, h)
  t.equal(status, 200)
  t.equal(body.tokenType, 'DPoP')
  t.same(decodeJwt(body.accessToken).cnf, { jkt: h.jkt }, 'cnf.jkt is the thumbprint of the key that signed the login proof')
  t.equal((await a.app.gatekeeper.store.refreshTokens.findFamily(body.sessionId))?.jkt, h.jkt, 'the session is bound to the key')
  const me = await call(a, h, body.accessToken)
  t.equal(me.statusCode, 200)
  t.match(me.json(), { subject: String, scheme: 'DPoP', confirmation: { jkt: h.jkt } })
  const refreshed = await a.app.inject({ method: 'POST', url: '/api/token/refresh', headers: { dpop: await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/token/refresh` }) }, payload: { refreshToken: body.refreshToken } })
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.json().tokenType, 'DPoP')
  t.same(decodeJwt(refreshed.json().accessToken).cnf, { jkt: h.jkt })
  t.equal((await call(a, h, refreshed.json().accessToken, '/strict')).statusCode, 200, 'the refreshed token passes a route requiring DPoP')
  const out = await a.app.inject({
    method: 'POST',
    url: '/api/logout',
    headers: { authorization: `DPoP ${refreshed.json().accessToken}`, dpop: await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/logout`, accessToken: refreshed.json().accessToken }) },
    payload: { refreshToken: refreshed.json().refreshToken }
  })
  t.equal(out.statusCode, 204)
  t.ok(a.events.some((e) => e.type === 'session.revoked' && e.familyId === body.sessionId), 'the session is revoked')
})

t.test("policy 'required': a login without a proof is refused, and so is every Bearer route call", async (t) => {
  const a = await dpopApp({ policy: 'required' })
  t.teardown(() => a.app.close())
  const bare = await login(a, null)
  t.equal(bare.status, 401)
  t.equal(bare.body.code, 'GK_DPOP_PROOF_INVALID')
  const h = await holder()
  const { body } = await login(a, h)
  t.equal((await call(a, h, body.accessToken)).statusCode, 200)
  const open = await a.app.inject({ method: 'GET', url: '/open', headers: { authorization: `Bearer ${(await a.app.gatekeeper.tokens.issue({ id: 'u9', roles: [] })).accessToken}` } })
  t.equal(open.statusCode, 200, "a route saying dpop: 'allowed' still takes Bearer")
  const me = await a.app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${(await a.app.gatekeeper.tokens.issue({ id: 'u9', roles: [] })).accessToken}` } })
  t.equal(me.statusCode, 401, 'a route without its own policy follows the global one')
  t.match(a.app.gatekeeper.routes().find((r) => r.url === '/strict'), { dpop: 'required' })
})

t.test('server nonces at resource requests: use_dpop_nonce with a DPoP-Nonce header, then accepted', async (t) => {
  const a = await dpopApp({ nonce: true })
  t.teardown(() => a.app.close())
  const h = await holder()
  const first = await a.app.inject({ method: 'POST', url: '/api/login', headers: { dpop: await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/login` }) }, payload: { username: 'nobody', password: 'x' } })
  t.equal(first.statusCode, 401)
  t.equal(first.json().code, 'GK_DPOP_NONCE_REQUIRED')
  const nonce = first.headers['dpop-nonce'] as string
  t.type(nonce, 'string')
  t.match(first.headers['www-authenticate'], /error="use_dpop_nonce"/)
  await a.app.gatekeeper.users.create({ username: 'alice', password: 'correct horse battery staple', roles: [] })
  const ok = await a.app.inject({ method: 'POST', url: '/api/login', headers: { dpop: await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/login`, nonce }) }, payload: { username: 'alice', password: 'correct horse battery staple' } })
  t.equal(ok.statusCode, 200)
  const token = ok.json().accessToken as string
  t.equal((await call(a, h, token, '/me', { nonce })).statusCode, 200)
  const bad = await call(a, h, token, '/me', { nonce: `${nonce}x` })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'GK_DPOP_NONCE_REQUIRED')
  t.equal(bad.headers['dpop-nonce'], nonce)
  a.clock.now += 6 * 60_000
  t.equal((await call(a, h, token, '/me', { nonce })).statusCode, 200, 'the previous slot is still good…')
  const told = await call(a, h, token, '/me', { nonce })
  t.not(told.headers['dpop-nonce'], nonce, '…and the answer names the new one')
  a.clock.now += 6 * 60_000
  t.equal((await call(a, h, token, '/me', { nonce })).json().code, 'GK_DPOP_NONCE_REQUIRED', 'two slots later it is refused')
})

t.test('htu behind a proxy: the request origin comes from X-Forwarded-* only with trustProxy', async (t) => {
  for (const trustProxy of [true, false]) {
    const a = await dpopApp({}, {}, undefined, null, { trustProxy })
    t.teardown(() => a.app.close())
    const h = await holder()
    await a.app.gatekeeper.users.create({ username: 'alice', password: 'correct horse battery staple', roles: [] })
    const res = await a.app.inject({
      method: 'POST',
      url: '/api/login?next=/home',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example', dpop: await proof(h, a.clock, { htm: 'POST', htu: 'https://api.example/api/login' }) },
      payload: { username: 'alice', password: 'correct horse battery staple' }
    })
    t.equal(res.statusCode, trustProxy ? 200 : 401, trustProxy ? 'the origin the proxy was asked for' : 'without trustProxy the forwarded origin is not believed')
    if (!trustProxy) t.equal(a.events.filter((e) => e.type === 'dpop.proof_refused').at(-1)?.cause, 'htu')
  }
})

t.test('htu normalisation (RFC 3986 §6.2.2): case, default port, percent-encoding, query and fragment', async (t) => {
  t.equal(normalizeHtu('HTTPS://API.Test:443/a/%7euser?q=1#f'), 'https://api.test/a/~user')
  t.equal(normalizeHtu('http://api.test:80/x%2fy'), 'http://api.test/x%2Fy')
  t.equal(normalizeHtu('https://api.test:8443/'), 'https://api.test:8443/')
  t.equal(normalizeHtu('ftp://api.test/'), null)
  t.equal(normalizeHtu('https://user:pw@api.test/'), null)
  t.equal(normalizeHtu('/relative'), null)
})

t.test('the replay cache: a jti once per window, bounded, and never letting an evicted proof through', async (t) => {
  const now = 1_000_000
  const cache = new MemoryReplayCache(1000, now)
  t.equal(cache.record('a', now + 65_000, now), 'fresh')
  t.equal(cache.record('a', now + 65_000, now + 1000), 'replay')
  t.equal(cache.record('a', now + 65_000, now + 66_000), 'fresh', 'past its expiry a key is forgotten')
  const full = new MemoryReplayCache(1000, now)
  for (let i = 0; i < 1500; i++) full.record(`k${i}`, now + 65_000 + i * 1000, now)
  t.equal(full.size, 1000, 'never more than max entries')
  t.equal(full.record('k0', now + 65_000, now), 'stale', 'an evicted proof is refused as stale, not taken as fresh')
  t.equal(full.record('new', now + 65_000 + 600_000, now), 'fresh')
})

t.test('nonces: one per slot, checked by HMAC, good for two slots', async (t) => {
  const n = new Nonces(Buffer.alloc(32, 1), 60_000)
  const at = 6_000_000
  const nonce = n.current(at)
  t.equal(n.check(nonce, at), 'current')
  t.equal(n.check(nonce, at + 60_000), 'previous')
  t.equal(n.check(nonce, at + 120_000), 'bad')
  t.equal(new Nonces(Buffer.alloc(32, 2), 60_000).check(nonce, at), 'bad', 'another secret')
  t.equal(n.check(nonce.replace(/.$/, (c) => c === 'A' ? 'B' : 'A'), at), 'bad')
  t.equal(n.check(42, at), 'bad')
})
