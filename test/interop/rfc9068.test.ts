import { generateKeyPairSync } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { listen } from '../browser/chromium.js'
import { basic } from '../oauth2/helpers.js'
import { pyjwtVerify, requirePyJwt } from './pyjwt.js'

// RFC 9068 §2.2: the claims every JWT access token must carry.
const REQUIRED = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']
const ISSUER = 'https://api.example'
const AUDIENCE = 'https://api.example/resources'
const PASSWORD = 'correct horse battery staple'
const HMAC_SECRET = 's'.repeat(32)

type Alg = 'HS256' | 'RS256' | 'ES256' | 'EdDSA'

function keysFor (alg: Exclude<Alg, 'HS256'>): JwtOptions['keys'] {
  const pair = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  return [{ kid: `${alg.toLowerCase()}-1`, algorithm: alg, privateKey: pair.privateKey, publicKey: pair.publicKey }]
}

/** An app whose three token sources (password login, refresh, client credentials) all run. */
async function issuer (alg: Alg, clientId?: string): Promise<{ app: FastifyInstance, tokens: Record<string, string>, oauthClientId: string }> {
  const app = Fastify({ forceCloseConnections: true })
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false }, bruteForce: false })
  await app.register(jwt, {
    ...(alg === 'HS256' ? { secret: HMAC_SECRET } : { keys: keysFor(alg) }),
    issuer: ISSUER,
    audience: AUDIENCE,
    ...(clientId === undefined ? {} : { clientId })
  })
  await app.register(refresh, { transport: 'body' })
  await app.register(oauth2)
  await app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'reports job', scopes: ['reports:read'] })
  await app.ready()
  const login = (await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })).json()
  const refreshed = (await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: login.refreshToken } })).json()
  const cc = (await app.inject({
    method: 'POST',
    url: '/api/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, client.secret) },
    payload: 'grant_type=client_credentials'
  })).json()
  return { app, tokens: { login: login.accessToken, refresh: refreshed.accessToken, clientCredentials: cc.access_token }, oauthClientId: client.id }
}

for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA'] as const) {
  // One variant sets clientId, the others keep the default (the issuer).
  const configured = alg === 'ES256' ? 'web-app' : undefined
  t.test(`${alg}: jose${alg === 'HS256' ? '' : ' and PyJWT, over the JWKS,'} ${alg === 'HS256' ? 'accepts' : 'accept'} every access token with all RFC 9068 claims required`, async (t) => {
    const { app, tokens, oauthClientId } = await issuer(alg, configured)
    t.teardown(() => app.close())
    const expected: Record<string, { sub: unknown, client_id: string }> = {
      login: { sub: String, client_id: configured ?? ISSUER },
      refresh: { sub: String, client_id: configured ?? ISSUER },
      clientCredentials: { sub: oauthClientId, client_id: oauthClientId }
    }
    let key: Uint8Array | JWTVerifyGetKey = new TextEncoder().encode(HMAC_SECRET)
    let jwks = ''
    if (alg !== 'HS256') {
      const port = await listen(app)
      jwks = `http://127.0.0.1:${port}/.well-known/jwks.json`
      key = createRemoteJWKSet(new URL(jwks))
    }
    for (const [source, token] of Object.entries(tokens)) {
      t.type(token, 'string', `${source}: a token was issued`)
      const { payload, protectedHeader } = await jwtVerify(token, key as JWTVerifyGetKey, {
        typ: 'at+jwt',
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [alg],
        requiredClaims: REQUIRED
      })
      t.equal(protectedHeader.typ, 'at+jwt', `${source}: typ`)
      t.match(payload, { iss: ISSUER, aud: AUDIENCE, ...expected[source] }, `${source}: jose verified it, client_id ${expected[source]?.client_id}`)
      t.equal((payload.exp as number) - (payload.iat as number), 900, `${source}: exp and iat`)
      t.match(payload.jti, /^[A-Za-z0-9_-]{22}$/, `${source}: jti`)
    }
    if (alg === 'HS256' || !requirePyJwt(t)) return
    const results = await pyjwtVerify({ jwks, issuer: ISSUER, audience: AUDIENCE, algorithm: alg, tokens: Object.values(tokens) })
    Object.keys(tokens).forEach((source, i) => {
      const r = results[i]
      t.ok(r?.ok, `${source}: PyJWT (PyJWKClient, every RFC 9068 claim required) accepts it${r?.ok === false ? `: ${r.error}` : ''}`)
      if (r?.ok === true) t.match(r.claims, { iss: ISSUER, aud: AUDIENCE, ...expected[source] }, `${source}: PyJWT's claims`)
    })
  })
}

t.test('clientId is validated at registration', async (t) => {
  for (const bad of ['', 'x'.repeat(257), 'caf\u00e9', 42]) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await t.rejects(async () => { await app.register(jwt, { secret: HMAC_SECRET, issuer: ISSUER, audience: AUDIENCE, clientId: bad as string }) }, { code: 'GK_CONFIG', message: /clientId must be 1-256 printable ASCII/ }, JSON.stringify(bad))
  }
})
