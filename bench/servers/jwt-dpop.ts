// Variant "jwt-dpop": jwt-hs256 with the dpop plugin and a route requiring DPoP; the driver signs a fresh ES256 proof per request.
import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { dpop } from 'fastify-gatekeeper/dpop'
import { jwt } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET, USER } from '../lib/server.js'

/** The origin the driver's proofs name (the server listens on an ephemeral port). */
const ORIGIN = 'http://bench.test'

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(dpop, { publicOrigin: ORIGIN })
await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '60m' })
app.get(BENCH_PATH, { config: { auth: { strategies: 'jwt', dpop: 'required' } } }, handler)
await app.ready()
const user = await app.gatekeeper.users!.create(USER)
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const publicJwk = publicKey.export({ format: 'jwk' })
const jkt = await calculateJwkThumbprint(publicJwk as JWK, 'sha256')
const { accessToken } = await app.gatekeeper.tokens!.issue(user, { jkt })
await announce(app, {
  path: BENCH_PATH,
  headers: {},
  protected: true,
  extra: { dpop: { privateJwk: privateKey.export({ format: 'jwk' }), publicJwk, accessToken, htu: `${ORIGIN}${BENCH_PATH}` } }
})
