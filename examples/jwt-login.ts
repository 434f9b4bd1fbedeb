/**
 * Password login with argon2id, short-lived access tokens signed with an
 * Ed25519 key (public part at /.well-known/jwks.json), sent either as a
 * Bearer header or as an HttpOnly cookie.
 *
 *   npx tsx examples/jwt-login.ts
 *
 * Account: alice / correct horse battery staple
 *
 * With the Authorization header (API clients, mobile apps):
 *
 *   TOKEN=$(curl -s localhost:3000/api/login -H 'content-type: application/json' \
 *     -d '{"username":"alice","password":"correct horse battery staple"}' | jq -r .accessToken)
 *   curl -s localhost:3000/api/profile -H "authorization: Bearer $TOKEN"
 *   curl -s -X POST localhost:3000/api/notes -H "authorization: Bearer $TOKEN" \
 *     -H 'content-type: application/json' -d '{"text":"hello"}'
 *
 * With the cookie (browsers; the cookie is Secure, and curl, like browsers,
 * still sends Secure cookies to http://localhost):
 *
 *   curl -s -c jar localhost:3000/api/login -H 'content-type: application/json' \
 *     -d '{"username":"alice","password":"correct horse battery staple"}'
 *   curl -s -b jar localhost:3000/api/profile
 *   curl -s -b jar -X POST localhost:3000/api/notes -H 'content-type: application/json' \
 *     -d '{"text":"hello"}'                                   # 403: no CSRF header
 *   curl -s -b jar -X POST localhost:3000/api/notes -H 'x-gk-csrf: 1' \
 *     -H 'content-type: application/json' -d '{"text":"hello"}'
 *   curl -s -b jar -X POST localhost:3000/api/logout -H 'x-gk-csrf: 1'
 *
 * Sign up and change a password:
 *
 *   curl -s localhost:3000/api/register -H 'content-type: application/json' \
 *     -d '{"username":"bob","password":"a long and unusual passphrase"}'
 *   curl -s -X POST localhost:3000/api/password -H "authorization: Bearer $TOKEN" \
 *     -H 'content-type: application/json' \
 *     -d '{"currentPassword":"correct horse battery staple","newPassword":"another long passphrase"}'
 */
import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper, jwt, secureLogger } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

// In production, load the PEM files from a secret store; a fresh pair dies with the process.
const { privateKey, publicKey } = generateKeyPairSync('ed25519')

// secureLogger() redacts Authorization and Cookie headers and password fields from logs.
const app = Fastify({ logger: secureLogger() })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  keys: [{ kid: 'example-1', algorithm: 'EdDSA', privateKey, publicKey }],
  issuer: 'jwt-login-example',
  audience: 'api',
  accessTokenTtl: '15m',
  cookie: { name: '__Host-gk_access' },
  routes: { prefix: '/api', register: true },
  password: {
    minLength: 12,
    blocklist: ['jwt-login-example'],
    // Plug a breach corpus here, e.g. a k-anonymity range query.
    isBreached: async (password) => password === 'P@ssw0rd2024!'
  },
  claims: (user) => ({ name: user.username }),
  // Ask the store about the user on each request (cached 5 s): a disabled user's
  // token stops working at once, and role changes apply without a new token.
  checkUser: { cacheTtl: '5s' }
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

app.get('/api/profile', async (request) => ({
  id: request.auth?.subject,
  name: request.auth?.claims?.name,
  roles: request.auth?.roles
}))

const notes: Array<{ author: string, text: string }> = []
app.post('/api/notes', {
  schema: { body: { type: 'object', required: ['text'], properties: { text: { type: 'string', maxLength: 1000 } } } }
}, async (request, reply) => {
  const { text } = request.body as { text: string }
  notes.push({ author: request.auth?.subject as string, text })
  reply.code(201)
  return { count: notes.length }
})

await app.gatekeeper.users?.create({ username: 'alice', password: 'correct horse battery staple', roles: ['user'] })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
