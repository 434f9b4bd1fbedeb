/**
 * A second factor: TOTP with recovery codes, the two-step login and a route
 * that asks for the second factor (step-up).
 *
 *   MFA_KEY=$(openssl rand -base64 32) npx tsx examples/mfa.ts
 *
 * Account: alice / correct horse battery staple
 *
 *   # 1. log in with the password, set up an authenticator app
 *   TOKEN=$(curl -s localhost:3000/api/login -H 'content-type: application/json' \
 *     -d '{"username":"alice","password":"correct horse battery staple"}' | jq -r .accessToken)
 *   curl -s -X POST localhost:3000/api/mfa/totp -H "authorization: Bearer $TOKEN"     # { uri, qrCode }
 *   curl -s localhost:3000/api/mfa/totp/confirm -H "authorization: Bearer $TOKEN" \
 *     -H 'content-type: application/json' -d '{"code":"<the app shows it>"}'        # 10 recovery codes, once
 *   # 2. from now on the password answers { status: 'mfa_required', challenge }
 *   curl -s localhost:3000/api/login/mfa -H 'content-type: application/json' \
 *     -d '{"challenge":"<challenge>","code":"<the app shows it>"}'                    # the tokens
 *   # 3. /api/admin needs the second factor: a password-only token gets 401 insufficient_user_authentication
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper, jwt, refresh, secureLogger } from 'fastify-gatekeeper'
import { mfa } from 'fastify-gatekeeper/mfa'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const port = Number(process.env.PORT ?? 3000)
// 32 random bytes, base64, from your secret manager. Without one, this demo makes a key that dies with the process.
const mfaKey = process.env.MFA_KEY ?? randomBytes(32).toString('base64')

const app = Fastify({ logger: secureLogger({ level: process.env.LOG_LEVEL ?? 'info' }) })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  secret: process.env.JWT_SECRET ?? 'example-secret-change-me-0123456789abcdef',
  issuer: 'https://mfa.example',
  audience: 'api',
  cookie: false
})
await app.register(refresh, { transport: 'body' })
await app.register(mfa, {
  // The first key seals new secrets; list retired keys after it until nothing sealed with them is left.
  encryptionKeys: [{ id: '2026-01', key: mfaKey }],
  issuer: 'Example'
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
app.get('/api/profile', async (request) => ({ id: request.auth?.subject, amr: request.auth?.claims?.amr }))
// Needs a second factor within the last 15 minutes; anything less gets the RFC 9470 challenge.
app.get('/api/admin', { config: { stepUp: { mfa: true, maxAge: '15m' } } }, async () => ({ secret: 'area' }))

await app.gatekeeper.users.create({ username: 'alice', password: 'correct horse battery staple', roles: ['user'] })
await app.listen({ port, host: '127.0.0.1' })
