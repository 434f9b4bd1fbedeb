/**
 * Machine clients with the OAuth 2.0 client-credentials grant (RFC 6749 §4.4):
 * a client trades its id and secret for a short-lived access token limited
 * to some of its scopes, and calls the API with that token.
 *
 *   npx tsx examples/client-credentials.ts
 *
 * The server prints a demo client's id and secret at start:
 *
 *   TOKEN=$(curl -s localhost:3000/api/oauth/token -u "$CLIENT_ID:$CLIENT_SECRET" \
 *     -d grant_type=client_credentials -d scope=reports:read | jq -r .access_token)
 *   curl -s localhost:3000/api/reports -H "authorization: Bearer $TOKEN"             # 200
 *   curl -s -X POST localhost:3000/api/reports -H "authorization: Bearer $TOKEN"     # 403: scope not granted
 *
 * OAuth client libraries need only the issuer: the token endpoint, the
 * grant, the authentication methods and the scopes are published as RFC 8414
 * metadata (openid-client: discovery(new URL(issuer), id, undefined,
 * ClientSecretBasic(secret), { algorithm: 'oauth2' })):
 *
 *   curl -s 127.0.0.1:3000/.well-known/oauth-authorization-server
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper, jwt, oauth2, secureLogger } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

// secureLogger() redacts Authorization headers and bodies from request logs.
const app = Fastify({ logger: secureLogger() })
// Clients live in the store (store.oauthClients). memoryStore() forgets them on restart;
// sqliteStore() and postgresStore() keep them in the gk_oauth_clients table.
await app.register(gatekeeper, { store: memoryStore() })
const PORT = Number(process.env.PORT ?? 3000)
await app.register(jwt, {
  secret: process.env.JWT_SECRET ?? randomBytes(32),
  // The API's own URL (https in production): clients discover the token endpoint from it.
  issuer: process.env.ISSUER ?? `http://127.0.0.1:${PORT}`,
  audience: 'api',
  accessTokenTtl: '15m'
})
await app.register(oauth2, {
  // Keep the pepper in a secret manager, apart from the database.
  pepper: process.env.CLIENT_SECRET_PEPPER ?? randomBytes(32),
  secretPrefix: 'gkcs',
  clientCredentials: { path: '/api/oauth/token' }
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

// A client token carries scopes, not roles: protect machine routes with `scopes`.
// A person's session carries no scope and is refused here; a route for people and
// machines alike says so: { anyOf: [{ permissions: ['reports:read'] }, { scopes: ['reports:read'] }] }.
app.get('/api/reports', { config: { auth: { strategies: ['jwt'], scopes: ['reports:read'] } } },
  async (request) => ({ reports: ['daily', 'weekly'], client: request.auth?.subject }))
app.post('/api/reports', { config: { auth: { strategies: ['jwt'], scopes: ['reports:write'] } } },
  async () => ({ created: true }))

const client = await app.gatekeeper.oauth2!.clients.create({ name: 'reporting job', scopes: ['reports:read', 'reports:write'] })
// Shown once, here for the demo only: hand it to the client over a secure channel.
console.log(`demo client: CLIENT_ID=${client.id} CLIENT_SECRET=${client.secret}`)

await app.listen({ port: PORT, host: '127.0.0.1' })
