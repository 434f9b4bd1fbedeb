import { generateKeyPairSync, sign } from 'node:crypto'
import { exportJWK, SignJWT } from 'jose'
import t from 'tap'
import { accessTokenHash } from '../../lib/dpop/proof.js'
import { call, dpopApp, holder, login, ORIGIN, proof, type DpopTestApp, type Holder } from '../dpop/helpers.js'

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
const CHALLENGE = 'DPoP realm="api", algs="ES256 EdDSA Ed25519 RS256 PS256"'

interface Attack {
  name: string
  /** Sends the attack; `token` is alice's DPoP-bound access token, `h` her key. */
  send: (a: DpopTestApp, h: Holder, token: string) => Promise<{ statusCode: number, headers: Record<string, unknown>, json: () => any }>
  status: number
  code: string
  /** The `cause` of the `dpop.proof_refused` event. */
  cause: string
  challenge?: RegExp
}

async function inject (a: DpopTestApp, authorization: string, dpopHeader?: string, url = '/me', method: 'GET' | 'POST' = 'GET'): Promise<any> {
  return await a.app.inject({ method, url, headers: { authorization, ...(dpopHeader === undefined ? {} : { dpop: dpopHeader }) } })
}

const other = await holder()
const rsaWeak = generateKeyPairSync('rsa', { modulusLength: 1024 })

const attacks: Attack[] = [
  {
    name: 'a replayed proof (same jti, same instance)',
    async send (a, h, token) {
      const p = await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token })
      const first = await inject(a, `DPoP ${token}`, p)
      if (first.statusCode !== 200) throw new Error('the first use must pass')
      return await inject(a, `DPoP ${token}`, p)
    },
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'replay',
    challenge: /error="invalid_dpop_proof"/
  },
  {
    name: 'a proof for another method',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/me`, accessToken: token })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'htm'
  },
  {
    name: 'a proof for another URL',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/other`, accessToken: token })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'htu'
  },
  {
    name: 'a proof for another origin',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: 'https://evil.test/me', accessToken: token })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'htu'
  },
  {
    name: 'a stale iat (61 s old, maxAge 60 s)',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token, iat: Math.floor(a.clock.now / 1000) - 61 })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'iat_stale'
  },
  {
    name: 'a future iat (6 s ahead, tolerance 5 s)',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token, iat: Math.floor(a.clock.now / 1000) + 6 })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'iat_future'
  },
  {
    name: 'a proof by another key (the token stolen, the thief signs with his own)',
    send: async (a, _h, token) => await inject(a, `DPoP ${token}`, await proof(other, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'jkt'
  },
  {
    name: 'a proof without ath',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me` })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'ath'
  },
  {
    name: 'a proof with the ath of another token',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, claims: { ath: accessTokenHash(`${token}x`) } })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'ath'
  },
  {
    name: 'an HS256 proof (a shared secret, with the jwk of the real key)',
    async send (a, h, token) {
      const p = await new SignJWT({ htm: 'GET', htu: `${ORIGIN}/me`, jti: 'hs', iat: Math.floor(a.clock.now / 1000), ath: accessTokenHash(token) })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: h.jwk }).sign(new TextEncoder().encode('k'.repeat(32)))
      return await inject(a, `DPoP ${token}`, p)
    },
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'alg'
  },
  {
    name: 'alg none',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: h.jwk })}.${b64({ htm: 'GET', htu: `${ORIGIN}/me`, jti: 'n', iat: Math.floor(a.clock.now / 1000), ath: accessTokenHash(token) })}.`),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'malformed'
  },
  {
    name: 'alg none with a signature segment',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: h.jwk })}.${b64({ htm: 'GET', htu: `${ORIGIN}/me`, jti: 'n', iat: Math.floor(a.clock.now / 1000), ath: accessTokenHash(token) })}.AAAA`),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'alg'
  },
  {
    name: 'a jwk with private parts',
    async send (a, h, token) {
      const priv = await exportJWK(h.privateKey)
      return await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token, header: { jwk: priv } }))
    },
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'private_key'
  },
  {
    name: 'typ JWT instead of dpop+jwt',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token, header: { typ: 'JWT' } })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'typ'
  },
  {
    name: 'an RSA key of 1024 bits',
    async send (a, _h, token) {
      const jwk = rsaWeak.publicKey.export({ format: 'jwk' })
      const input = `${b64({ alg: 'RS256', typ: 'dpop+jwt', jwk })}.${b64({ htm: 'GET', htu: `${ORIGIN}/me`, jti: 'w', iat: Math.floor(a.clock.now / 1000), ath: accessTokenHash(token) })}`
      return await inject(a, `DPoP ${token}`, `${input}.${sign('sha256', Buffer.from(input), rsaWeak.privateKey).toString('base64url')}`)
    },
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'weak_key'
  },
  {
    name: 'a signature by another key under the jwk of the real one',
    async send (a, h, token) {
      const p = await proof(other, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token, header: { jwk: h.jwk } })
      return await inject(a, `DPoP ${token}`, p)
    },
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'signature'
  },
  {
    name: 'a proof without jti',
    send: async (a, h, token) => await inject(a, `DPoP ${token}`, await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token, claims: { jti: undefined } })),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'jti'
  },
  {
    name: 'two DPoP headers',
    async send (a, h, token) {
      const p = await proof(h, a.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: token })
      return await a.app.inject({ method: 'GET', url: '/me', headers: { authorization: `DPoP ${token}`, dpop: [p, p] as unknown as string } })
    },
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'malformed'
  },
  {
    name: 'a token stolen without the key (DPoP scheme, no proof)',
    send: async (a, _h, token) => await inject(a, `DPoP ${token}`),
    status: 401,
    code: 'GK_DPOP_PROOF_INVALID',
    cause: 'missing'
  },
  {
    name: 'a bound token downgraded to Bearer',
    send: async (a, _h, token) => await inject(a, `Bearer ${token}`),
    status: 401,
    code: 'GK_TOKEN_INVALID',
    cause: 'bearer_downgrade',
    challenge: /^DPoP realm="api", algs="ES256 EdDSA Ed25519 RS256 PS256", error="invalid_token", Bearer realm="api"/
  },
  {
    name: 'a bound token downgraded to Bearer on a route requiring DPoP',
    send: async (a, _h, token) => await inject(a, `Bearer ${token}`, undefined, '/strict'),
    status: 401,
    code: 'GK_TOKEN_INVALID',
    cause: 'bearer_downgrade',
    challenge: /^DPoP realm="api", algs="ES256 EdDSA Ed25519 RS256 PS256", error="invalid_token"$/
  }
]

t.test('attacks on DPoP-bound access tokens: each is refused with its code, and the audit trail names the check', async (t) => {
  for (const attack of attacks) {
    const a = await dpopApp()
    t.teardown(() => a.app.close())
    const h = await holder()
    const { body } = await login(a, h)
    t.equal(body.tokenType, 'DPoP', 'the login issued a bound token')
    const res = await attack.send(a, h, body.accessToken)
    t.equal(res.statusCode, attack.status, `${attack.name}: status`)
    t.equal(res.json().code, attack.code, `${attack.name}: code`)
    const refused = a.events.filter((e) => e.type === 'dpop.proof_refused')
    t.equal(refused.at(-1)?.cause, attack.cause, `${attack.name}: the check that refused it`)
    const challenge = String(res.headers['www-authenticate'])
    t.ok(challenge.startsWith(CHALLENGE), `${attack.name}: the challenge names DPoP and its algorithms (${challenge})`)
    if (attack.challenge !== undefined) t.match(challenge, attack.challenge, `${attack.name}: challenge`)
    t.notOk(JSON.stringify(a.events).includes(body.accessToken), `${attack.name}: the token is not in the audit trail`)
  }
})

t.test('a Bearer token on a route requiring DPoP: refused, only the DPoP challenge offered', async (t) => {
  const a = await dpopApp()
  t.teardown(() => a.app.close())
  const { body } = await login(a, null)
  t.equal(body.tokenType, 'Bearer')
  const ok = await inject(a, `Bearer ${body.accessToken}`)
  t.equal(ok.statusCode, 200, 'the default policy (allowed) takes it')
  const res = await inject(a, `Bearer ${body.accessToken}`, undefined, '/strict')
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_TOKEN_INVALID')
  t.equal(res.headers['www-authenticate'], `${CHALLENGE}, error="invalid_token"`)
  t.ok(a.events.some((e) => e.type === 'access.denied' && e.cause === 'dpop_required'))
  const anon = await a.app.inject({ method: 'GET', url: '/strict' })
  t.equal(anon.statusCode, 401)
  t.equal(anon.headers['www-authenticate'], CHALLENGE, 'no credential: the DPoP challenge alone')
  const open = await a.app.inject({ method: 'GET', url: '/me' })
  t.equal(open.headers['www-authenticate'], `Bearer realm="api", ${CHALLENGE}`, 'where both are allowed, both are offered')
})

t.test('an unbound token presented with the DPoP scheme is refused', async (t) => {
  const a = await dpopApp()
  t.teardown(() => a.app.close())
  const h = await holder()
  const { body } = await login(a, null)
  const res = await call(a, h, body.accessToken)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_TOKEN_INVALID')
  t.equal(a.events.filter((e) => e.type === 'dpop.proof_refused').at(-1)?.cause, 'unbound_token')
})

const refreshAttacks: Array<{ name: string, dpop: (a: DpopTestApp) => Promise<string | undefined> }> = [
  { name: 'refresh without a proof', dpop: async () => undefined },
  { name: 'refresh with a proof by another key', dpop: async (a) => await proof(other, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/token/refresh` }) }
]

for (const attack of refreshAttacks) {
  t.test(`${attack.name}: refused as theft, the session is revoked, audit and anomaly`, async (t) => {
    const a = await dpopApp()
    t.teardown(() => a.app.close())
    const h = await holder()
    const { body } = await login(a, h)
    const p = await attack.dpop(a)
    const res = await a.app.inject({ method: 'POST', url: '/api/token/refresh', headers: p === undefined ? {} : { dpop: p }, payload: { refreshToken: body.refreshToken } })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'GK_INVALID_GRANT')
    t.ok(a.events.some((e) => e.type === 'refresh.dpop_mismatch' && e.familyId === body.sessionId), 'audit event')
    t.match(a.anomalies, [{ type: 'refresh_unbound', familyId: body.sessionId }], 'anomaly')
    // The rightful client, with its key, finds the session ended.
    const own = await a.app.inject({ method: 'POST', url: '/api/token/refresh', headers: { dpop: await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/token/refresh` }) }, payload: { refreshToken: body.refreshToken } })
    t.equal(own.statusCode, 401, 'the family is revoked')
  })
}

t.test('a login with a bad proof is refused before the password is checked', async (t) => {
  const a = await dpopApp()
  t.teardown(() => a.app.close())
  await a.app.gatekeeper.users.create({ username: 'alice', password: 'correct horse battery staple', roles: [] })
  const h = await holder()
  const res = await a.app.inject({ method: 'POST', url: '/api/login', headers: { dpop: await proof(h, a.clock, { htm: 'POST', htu: `${ORIGIN}/api/other` }) }, payload: { username: 'alice', password: 'wrong' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_DPOP_PROOF_INVALID')
  t.match(res.headers['www-authenticate'], /^DPoP realm="api", algs="[^"]+", error="invalid_dpop_proof"$/)
  t.notOk(a.events.some((e) => e.type === 'login.failure'), 'no login attempt was counted')
})
