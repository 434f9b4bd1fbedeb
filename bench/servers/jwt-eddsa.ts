// Variant "jwt-eddsa": the gatekeeper core with the jwt plugin signing with an Ed25519 key, memory store.
import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, USER } from '../lib/server.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, { keys: [{ kid: 'bench-ed25519', algorithm: 'EdDSA', privateKey, publicKey }], issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '60m' })
app.get(BENCH_PATH, { config: { auth: 'jwt' } }, handler)
await app.ready()
const user = await app.gatekeeper.users!.create(USER)
const { accessToken } = await app.gatekeeper.tokens!.issue(user)
await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${accessToken}` }, protected: true })
