// Variant "jwt-hs256": the gatekeeper core with the jwt plugin (HS256), memory store; also serves the login storm.
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET, USER } from '../lib/server.js'

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '60m' })
app.get(BENCH_PATH, { config: { auth: 'jwt' } }, handler)
await app.ready()
const user = await app.gatekeeper.users!.create(USER)
// The login storm's crowd: one account per request in flight and then some.
const crowd = Array.from({ length: 32 }, (_, i) => `${USER.username}-${i}`)
await Promise.all(crowd.map(async (username) => await app.gatekeeper.users!.create({ ...USER, username })))
const { accessToken } = await app.gatekeeper.tokens!.issue(user)
await announce(app, {
  path: BENCH_PATH,
  headers: { authorization: `Bearer ${accessToken}` },
  protected: true,
  extra: { login: { path: '/api/login', body: { username: USER.username, password: USER.password }, users: crowd } }
})
