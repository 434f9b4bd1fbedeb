import { createServer, type Server } from 'node:http'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { freePort } from '../helpers.js'
import { APP_BASE, authorize } from '../oauth2/provider.js'

/** The API under test: its resource identifier, the audience of its JWT access tokens. */
export const RESOURCE = 'https://api.test/mcp'
/** A second resource of the same provider, whose tokens are opaque (introspected). */
export const OPAQUE_RESOURCE = 'https://opaque.api.test'
/** A resource of the same provider that is not ours. */
export const OTHER_RESOURCE = 'https://other.api.test'

/** A machine client (client credentials). */
export const SERVICE = { id: 'reports-bot', secret: 'reports-bot-secret-0123456789-abcdefghij' }
/** The API's own client, which introspects tokens. */
export const INTROSPECTOR = { id: 'api-introspection', secret: 'api-introspection-secret-0123456789-abc' }
/** A confidential web client that users log in through (authorization code + PKCE). */
export const WEB = { id: 'web-app', secret: 'web-app-secret-0123456789-abcdefghijklmnop', redirect: `${APP_BASE}/callback` }

/** The provider's users and their roles (put in access tokens as `roles`). */
export const USERS: Record<string, { roles: string[] }> = {
  alice: { roles: ['editor'] },
  bob: { roles: ['viewer'] }
}

/** Scopes the provider grants for our resources. */
export const SCOPES = 'posts:read posts:write tools:read tools:call mcp:tools'

/** A signing key of the provider: private JWK with `kid` and `alg`. */
export type SigningKey = JWK & { kid: string, alg: string }

/** A new signing key. */
export async function signingKey (kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' }
}

/** A running provider. */
export interface TestProvider {
  issuer: string
  port: number
  /** Requests to its JWKS endpoint so far. */
  jwksRequests: () => number
  /** Requests to its introspection endpoint so far. */
  introspections: () => number
  close: () => Promise<void>
}

/**
 * Starts oidc-provider on loopback with resource indicators (RFC 8707):
 * tokens for {@link RESOURCE} are ES256 JWT access tokens (RFC 9068),
 * tokens for {@link OPAQUE_RESOURCE} opaque and introspectable. `keys` are
 * its signing keys (the first of an algorithm signs); `port` restarts it
 * where it was (a key rotation); `jwtResources` adds resources with JWT tokens.
 */
export async function startProvider (o: { keys?: SigningKey[], port?: number, jwtAlg?: 'ES256' | 'RS256', jwtResources?: string[] } = {}): Promise<TestProvider> {
  const warn = console.warn
  console.warn = () => {}
  const moduleName = 'oidc-provider'
  const { default: Provider } = await import(moduleName)
  const port = o.port ?? await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const keys = o.keys ?? [await signingKey('k1')]
  const resources: Record<string, { scope: string, audience: string, accessTokenFormat: 'jwt' | 'opaque', jwt?: unknown }> = {
    [RESOURCE]: { scope: SCOPES, audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: o.jwtAlg ?? 'ES256' } } },
    [OTHER_RESOURCE]: { scope: SCOPES, audience: OTHER_RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: o.jwtAlg ?? 'ES256' } } },
    [OPAQUE_RESOURCE]: { scope: SCOPES, audience: OPAQUE_RESOURCE, accessTokenFormat: 'opaque' }
  }
  for (const r of o.jwtResources ?? []) resources[r] = { scope: SCOPES, audience: r, accessTokenFormat: 'jwt', jwt: { sign: { alg: o.jwtAlg ?? 'ES256' } } }
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      { client_id: SERVICE.id, client_secret: SERVICE.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256' },
      { client_id: INTROSPECTOR.id, client_secret: INTROSPECTOR.secret, grant_types: [], response_types: [], redirect_uris: [], id_token_signed_response_alg: 'ES256' },
      { client_id: WEB.id, client_secret: WEB.secret, grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [WEB.redirect], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256' }
    ],
    scopes: ['openid'],
    claims: { openid: ['sub'] },
    cookies: { keys: ['resource-server-test-cookie-key-0123456789'] },
    ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo (_ctx: unknown, resource: string) {
          const info = resources[resource]
          if (info === undefined) throw new Error(`unknown resource ${resource}`)
          return info
        }
      }
    },
    // Roles of users, as many providers put them in access tokens.
    async extraTokenClaims (_ctx: unknown, token: { accountId?: string }) {
      const user = token.accountId === undefined ? undefined : USERS[token.accountId]
      return user === undefined ? undefined : { roles: user.roles }
    },
    async findAccount (_ctx: unknown, id: string) {
      if (USERS[id] === undefined) return undefined
      return { accountId: id, async claims () { return { sub: id } } }
    },
    // Consent is granted at once (the scripted login is a login only).
    async loadExistingGrant (ctx: any) {
      const accountId = ctx.oidc.session?.accountId
      if (accountId === undefined) return undefined
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId })
      grant.addOIDCScope('openid')
      for (const resource of Object.keys(resources)) grant.addResourceScope(resource, SCOPES)
      await grant.save()
      return grant
    }
  } as any)
  console.warn = warn
  let jwks = 0
  let introspections = 0
  const callback = provider.callback()
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/jwks') === true) jwks++
    if (req.url?.startsWith('/token/introspection') === true) introspections++
    callback(req, res)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    issuer,
    port,
    jwksRequests: () => jwks,
    introspections: () => introspections,
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) }
  }
}

/** `fetch`, tried once more when a pooled connection to a restarted provider fails. */
async function post (url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch {
    return await fetch(url, init)
  }
}

function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

/** A client-credentials token of {@link SERVICE} for `resource`. */
export async function serviceToken (issuer: string, resource: string = RESOURCE, scope = 'posts:read tools:read'): Promise<string> {
  const res = await post(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(SERVICE.id, SERVICE.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource })
  })
  const body = await res.json() as { access_token?: string }
  if (res.status !== 200 || typeof body.access_token !== 'string') throw new Error(`token endpoint answered ${res.status} ${JSON.stringify(body)}`)
  return body.access_token
}

/**
 * An authorization-code token of `user` for `resource`: the user logs in at
 * the provider (its development login form, played like a browser), the
 * web client exchanges the code with its PKCE verifier.
 */
export async function userToken (issuer: string, user: string, resource: string = RESOURCE, scope = 'openid posts:read posts:write'): Promise<{ accessToken: string, idToken: string }> {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url')
  const auth = new URL(`${issuer}/auth`)
  auth.search = new URLSearchParams({ client_id: WEB.id, redirect_uri: WEB.redirect, response_type: 'code', scope, resource, code_challenge: challenge, code_challenge_method: 'S256', state: 'st', nonce: 'nonce-value' }).toString()
  const back = await authorize(auth.href, user)
  const code = back.searchParams.get('code')
  if (code === null) throw new Error(`no code: ${back.href}`)
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(WEB.id, WEB.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: WEB.redirect, code_verifier: verifier, resource })
  })
  const body = await res.json() as { access_token?: string, id_token?: string }
  if (res.status !== 200 || typeof body.access_token !== 'string' || typeof body.id_token !== 'string') throw new Error(`token endpoint answered ${res.status} ${JSON.stringify(body)}`)
  return { accessToken: body.access_token, idToken: body.id_token }
}
