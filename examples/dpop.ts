/**
 * DPoP (RFC 9449): tokens bound to the client's key. A person logs in with a
 * proof signed by a key pair the client holds; the access and refresh tokens
 * then work only with fresh proofs by that key, so a copied token is useless.
 *
 *   npx tsx examples/dpop.ts
 *
 * The server prints a demo account. Clients: docs/dpop.md (oauth4webapi,
 * openid-client, plain WebCrypto in a browser). `/api/payments` takes DPoP
 * only; `/api/profile` takes a Bearer token too.
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper, jwt, refresh, secureLogger } from 'fastify-gatekeeper'
import { dpop } from 'fastify-gatekeeper/dpop'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const PORT = Number(process.env.PORT ?? 3000)
const app = Fastify({ logger: secureLogger() })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(dpop, {
  // 'required' would refuse every Bearer token; here routes choose.
  policy: 'allowed',
  // The URL clients call, which their proofs name (behind a proxy: your public origin).
  publicOrigin: process.env.PUBLIC_ORIGIN ?? `http://127.0.0.1:${PORT}`
})
await app.register(jwt, { secret: process.env.JWT_SECRET ?? randomBytes(32), issuer: 'https://api.example', audience: 'api', cookie: false })
// Bound sessions: their refresh tokens are exchanged only with a proof by the same key.
await app.register(refresh, { transport: 'body' })

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
app.get('/api/profile', async (request) => ({ id: request.auth?.subject, bound: request.auth?.confirmation !== undefined }))
app.get('/api/payments', { config: { auth: { dpop: 'required' } } }, async () => ({ payments: [] }))

const password = randomBytes(12).toString('base64url')
await app.gatekeeper.users.create({ username: 'alice', password, roles: ['user'] })
// For the demo only: never print a password.
console.log(`demo account: alice / ${password}`)

await app.listen({ port: PORT, host: '127.0.0.1' })
