// Variant "resource-server": the gatekeeper core with the resourceServer plugin trusting
// ES256 JWT access tokens of a real authorization server (oidc-provider) on loopback;
// its keys are fetched at start-up, so the measured requests find them warm.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { resourceServer } from 'fastify-gatekeeper/resource-server'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { exportJWK, generateKeyPair } from 'jose'
import { announce, BENCH_PATH, handler } from '../lib/server.js'

const RESOURCE = 'https://bench.api.test'
const CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789-abcdefghij' }

// The authorization server: client credentials, resource indicators, ES256 JWT access tokens (RFC 9068).
const warn = console.warn
console.warn = () => {}
const moduleName = 'oidc-provider'
const { default: Provider } = await import(moduleName)
console.warn = warn
const { privateKey } = await generateKeyPair('ES256', { extractable: true })
// The listening port first: the issuer URL names it.
let serve: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => { res.statusCode = 503; res.end() }
const as = createServer((req, res) => { serve(req, res) })
await new Promise<void>((resolve) => as.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${(as.address() as { port: number }).port}`
const provider = new Provider(issuer, {
  jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
  clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], id_token_signed_response_alg: 'ES256' }],
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      getResourceServerInfo: () => ({ scope: 'bench:read', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } })
    }
  }
})
serve = provider.callback()

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(resourceServer, { resource: RESOURCE, issuers: [{ issuer }] })
app.get(BENCH_PATH, { config: { auth: 'resourceServer' } }, handler)
app.addHook('onClose', async () => { await new Promise((resolve) => as.close(resolve)) })
await app.ready()

const res = await fetch(`${issuer}/token`, {
  method: 'POST',
  headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'bench:read', resource: RESOURCE })
})
const { access_token: accessToken } = await res.json() as { access_token: string }
await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${accessToken}` }, protected: true })
