// Variant "jwt-rbac": jwt (HS256) plus rbac, the route requiring a permission the user's role inherits.
import Fastify from 'fastify'
import { gatekeeper, rbac } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET } from '../lib/server.js'

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '60m' })
await app.register(rbac, {
  roles: {
    admin: { inherits: ['editor'], permissions: ['*'] },
    editor: { inherits: ['user'], permissions: ['posts:*'] },
    user: { permissions: ['posts:read', 'posts:update:own'] }
  }
})
app.get(BENCH_PATH, { config: { auth: { strategies: ['jwt'], permissions: ['posts:read'] } } }, handler)
await app.ready()
// An editor: posts:read comes through inheritance, so the graph is exercised.
const user = await app.gatekeeper.users!.create({ username: 'bench-editor', password: 'bench-password-not-secret', roles: ['editor'] })
const { accessToken } = await app.gatekeeper.tokens!.issue(user)
await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${accessToken}` }, protected: true })
