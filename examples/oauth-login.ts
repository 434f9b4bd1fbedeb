/**
 * "Log in with …" over OpenID Connect: the browser goes to the provider,
 * comes back with a code, and gets this API's own access token. Works with
 * any OpenID provider that supports discovery (Google, Microsoft Entra ID,
 * Keycloak, Auth0, Okta, …).
 *
 *   OIDC_ISSUER=https://accounts.google.com OIDC_CLIENT_ID=… OIDC_CLIENT_SECRET=… \
 *   APP_URL=http://127.0.0.1:3000 npx tsx examples/oauth-login.ts
 *
 * Register `$APP_URL/api/oauth/sso/callback` as a redirect URI at the provider, then
 * open http://127.0.0.1:3000/api/oauth/sso/start in a browser. After the provider's
 * login, the callback answers { accessToken, tokenType, expiresIn }:
 *
 *   curl -s localhost:3000/api/profile -H "authorization: Bearer $TOKEN"
 *
 * Users and their links to provider identities are kept in
 * $DATA_DIR/oauth-login.db (default ./data): the next login of the same
 * identity finds the same user.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import Fastify from 'fastify'
import { gatekeeper, jwt, oauth2, secureLogger } from 'fastify-gatekeeper'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'

const { OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET } = process.env
if (OIDC_ISSUER === undefined || OIDC_CLIENT_ID === undefined) {
  console.error('Set OIDC_ISSUER, OIDC_CLIENT_ID (and OIDC_CLIENT_SECRET for a confidential client); see the top of this file.')
  process.exit(1)
}
const port = Number(process.env.PORT ?? 3000)
const dataDir = process.env.DATA_DIR ?? 'data'
mkdirSync(dataDir, { recursive: true })

const app = Fastify({ logger: secureLogger() })
// Users and their links to provider identities (issuer + subject) live in the store.
await app.register(gatekeeper, { store: sqliteStore({ filename: `${dataDir}/oauth-login.db` }) })
await app.register(jwt, {
  secret: process.env.JWT_SECRET ?? randomBytes(32),
  issuer: 'oauth-login-example',
  audience: 'api'
})
await app.register(oauth2, {
  providers: {
    sso: {
      issuer: OIDC_ISSUER,
      clientId: OIDC_CLIENT_ID,
      ...(OIDC_CLIENT_SECRET === undefined ? {} : { clientSecret: OIDC_CLIENT_SECRET }),
      scopes: ['openid', 'email', 'profile']
    }
  },
  // The public origin of this app: redirect URIs are <redirectBase>/api/oauth/<provider>/callback.
  redirectBase: process.env.APP_URL ?? `http://127.0.0.1:${port}`,
  // Seals the short-lived state cookie; keep it in a secret manager (a random one dies with the process).
  stateSecret: process.env.OAUTH_STATE_SECRET ?? randomBytes(32),
  stateTtl: '10m',
  // The first login of an unknown identity creates a local user with these roles.
  allowSignup: true,
  signupRoles: [],
  // Only for providers whose email verification you trust (account-takeover guard), and
  // only ever to a password-less user whose email this app verified itself; users with
  // a password link explicitly, signed in: POST /api/oauth/<provider>/link.
  linkVerifiedEmail: false,
  // No machine clients in this example.
  clientCredentials: false
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
app.get('/api/profile', async (request) => {
  const user = await app.gatekeeper.store.users.findById(request.auth!.subject)
  return { id: user?.id, username: user?.username }
})

await app.listen({ port, host: '127.0.0.1' })
