// Variant "routes" (scale mode): the jwt-hs256 server with GK_BENCH_ROUTES protected routes, or with GK_BENCH_BARE=1
// the same routes on bare Fastify; announces its start-up time (register + ready).
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET, USER } from '../lib/server.js'

const routes = Number(process.env.GK_BENCH_ROUTES ?? '10')
const bare = process.env.GK_BENCH_BARE === '1'
const t0 = performance.now()
const app = Fastify({ logger: false })
if (!bare) {
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '60m' })
}
const config = bare ? {} : { config: { auth: 'jwt' as const } }
// Half static, half parametric, every one protected: the measured route is one of them.
for (let i = 1; i < routes; i++) app.get(i % 2 === 0 ? `/r${i}/items` : `/r${i}/items/:id`, config, handler)
app.get(BENCH_PATH, config, handler)
await app.ready()
const startupMs = performance.now() - t0
let headers = {}
if (!bare) {
  const user = await app.gatekeeper.users!.create(USER)
  headers = { authorization: `Bearer ${(await app.gatekeeper.tokens!.issue(user)).accessToken}` }
}
await announce(app, { path: BENCH_PATH, headers, protected: !bare, extra: { routes, startupMs } })
