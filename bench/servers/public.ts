// Variant "public": the gatekeeper core and the jwt plugin registered, the measured route public (`auth: false`).
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET } from '../lib/server.js'

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE })
app.get(BENCH_PATH, { config: { auth: false } }, handler)
await announce(app, { path: BENCH_PATH, headers: {}, protected: false })
