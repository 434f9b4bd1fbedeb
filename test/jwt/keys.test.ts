import { verify as cryptoVerify } from 'node:crypto'
import t from 'tap'
import type { JwtKey } from '../../lib/jwt/index.js'
import { claims, forge, jwtApp, keyPair, loginAs } from './helpers.js'

function header (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString())
}

for (const algorithm of ['EdDSA', 'ES256', 'RS256'] as const) {
  t.test(`${algorithm}: tokens are signed with the first key and verify; the JWKS serves its public part`, async (t) => {
    const pair = keyPair(algorithm)
    const { app } = await jwtApp({ keys: [{ kid: `k-${algorithm}`, algorithm, ...pair }] })
    t.teardown(() => app.close())
    const { token, id } = await loginAs(app)
    t.same(header(token), { alg: algorithm, typ: 'at+jwt', kid: `k-${algorithm}` })
    const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(me.statusCode, 200)
    t.equal(me.json().subject, id)
    const res = await app.inject('/.well-known/jwks.json')
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/jwk-set\+json/)
    t.equal(res.headers['cache-control'], 'public, max-age=300')
    const jwks = res.json()
    t.equal(jwks.keys.length, 1)
    t.match(jwks.keys[0], { kid: `k-${algorithm}`, alg: algorithm, use: 'sig' })
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.notOk(priv in jwks.keys[0], `no private member ${priv}`)
    // The JWK really is the verification key: check the token's signature with it.
    const { createPublicKey } = await import('node:crypto')
    const jwk = createPublicKey({ key: jwks.keys[0], format: 'jwk' })
    const [h, p, s] = token.split('.') as [string, string, string]
    const sig = Buffer.from(s, 'base64url')
    const ok = algorithm === 'EdDSA'
      ? cryptoVerify(null, Buffer.from(`${h}.${p}`), jwk, sig)
      : cryptoVerify('sha256', Buffer.from(`${h}.${p}`), algorithm === 'ES256' ? { key: jwk, dsaEncoding: 'ieee-p1363' } : jwk, sig)
    t.ok(ok)
  })
}

t.test('algorithm confusion and key-selection attacks are refused in keys mode (table)', async (t) => {
  const pair = keyPair('RS256')
  const ed = keyPair('EdDSA')
  const { app, clock } = await jwtApp({ keys: [{ kid: 'rsa', algorithm: 'RS256', ...pair }, { kid: 'ed', algorithm: 'EdDSA', publicKey: ed.publicKey }] })
  t.teardown(() => app.close())
  const c = claims(clock)
  const pem = pair.publicKey.export({ format: 'pem', type: 'spki' }) as string
  const rows: Array<[string, string]> = [
    ['HS256 signed with the public key as HMAC secret', forge({ alg: 'HS256', typ: 'at+jwt', kid: 'rsa' }, c, pem)],
    ['HS256 without kid', forge({ alg: 'HS256', typ: 'at+jwt' }, c, pem)],
    ['RS256 without kid', forge({ alg: 'RS256', typ: 'at+jwt' }, c, pair.privateKey)],
    ['RS256 with an unknown kid', forge({ alg: 'RS256', typ: 'at+jwt', kid: 'nope' }, c, pair.privateKey)],
    ['EdDSA signature under the RSA kid', forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'rsa' }, c, ed.privateKey)],
    ['RS256 signature under the EdDSA kid', forge({ alg: 'RS256', typ: 'at+jwt', kid: 'ed' }, c, pair.privateKey)],
    ['alg none under a known kid', forge({ alg: 'none', typ: 'at+jwt', kid: 'rsa' }, c, null)],
    ['a key of an attacker embedded as jwk', forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', jwk: keyPair('EdDSA').publicKey.export({ format: 'jwk' }) }, c, keyPair('EdDSA').privateKey)],
    ['signed by another Ed25519 key', forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, c, keyPair('EdDSA').privateKey)]
  ]
  for (const [name, token] of rows) {
    const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, 'GK_TOKEN_INVALID', name)
  }
  const good = forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, c, ed.privateKey)
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${good}` } })).statusCode, 200, 'a verify-only key verifies')
})

t.test('key rotation without downtime: add a new signing key, keep the old for verification, then retire it', async (t) => {
  const oldPair = keyPair('EdDSA')
  const newPair = keyPair('ES256')
  const oldKey: JwtKey = { kid: '2029-old', algorithm: 'EdDSA', ...oldPair }
  const newKey: JwtKey = { kid: '2030-new', algorithm: 'ES256', ...newPair }

  // Step 1: only the old key.
  const one = await jwtApp({ keys: [oldKey] })
  t.teardown(() => one.app.close())
  const oldToken = (await one.app.gatekeeper.tokens!.issue({ id: 'alice', roles: ['user'] })).accessToken

  // Step 2: a deploy with the new key first and the old one verify-only. Old tokens keep working.
  const two = await jwtApp({ keys: [newKey, { kid: oldKey.kid, algorithm: 'EdDSA', publicKey: oldPair.publicKey }] })
  t.teardown(() => two.app.close())
  two.clock.now = one.clock.now + 60_000
  t.equal((await two.app.inject({ url: '/me', headers: { authorization: `Bearer ${oldToken}` } })).statusCode, 200, 'old token still valid')
  const newToken = (await two.app.gatekeeper.tokens!.issue({ id: 'alice', roles: ['user'] })).accessToken
  t.equal(header(newToken).kid, '2030-new', 'new tokens use the new key')
  t.equal((await two.app.inject({ url: '/me', headers: { authorization: `Bearer ${newToken}` } })).statusCode, 200)
  t.same((await two.app.inject('/.well-known/jwks.json')).json().keys.map((k: { kid: string }) => k.kid), ['2030-new', '2029-old'])

  // Step 3: after the longest token lifetime, the old key is dropped; its tokens no longer verify.
  const three = await jwtApp({ keys: [newKey] })
  t.teardown(() => three.app.close())
  three.clock.now = two.clock.now
  t.equal((await three.app.inject({ url: '/me', headers: { authorization: `Bearer ${newToken}` } })).statusCode, 200)
  const retired = await three.app.inject({ url: '/me', headers: { authorization: `Bearer ${oldToken}` } })
  t.equal(retired.statusCode, 401)
  t.equal(retired.json().code, 'GK_TOKEN_INVALID')
})

t.test('with an HMAC secret there is no JWKS route', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  t.equal((await app.inject('/.well-known/jwks.json')).statusCode, 404)
})
