import { createServer, type Server } from 'node:http'
import { freePort } from '../helpers.js'

/** The redirect base of the app under test; its callback is never fetched, only read from the provider's redirect. */
export const APP_BASE = 'https://app.test'
export const CLIENT_ID = 'gk-app'
export const CLIENT_SECRET = 'gk-app-secret-gk-app-secret-0123456789'
/** A public client (no secret: PKCE alone protects its codes). */
export const PUBLIC_CLIENT_ID = 'gk-public'

/** Accounts of the test provider: id → claims. */
export const ACCOUNTS: Record<string, { email: string, email_verified: boolean }> = {
  alice: { email: 'alice@example.com', email_verified: true },
  mallory: { email: 'bob@example.com', email_verified: false }
}

/**
 * Starts a real OpenID provider (oidc-provider, with its development login
 * form) on a loopback port, with one confidential client whose redirect URIs
 * point at the app under test.
 */
export async function startProvider (providers: string[] = ['test']): Promise<{ issuer: string, close: () => Promise<void> }> {
  // oidc-provider warns about Node versions below 22 on import; the warning is noise here.
  const warn = console.warn
  console.warn = () => {}
  // oidc-provider ships no type declarations: imported by a name TypeScript does not resolve.
  const moduleName = 'oidc-provider'
  const { default: Provider } = await import(moduleName)
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const provider = new Provider(issuer, {
    clients: [{
      client_id: PUBLIC_CLIENT_ID,
      redirect_uris: [`${APP_BASE}/api/oauth/pub/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    }, {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: providers.map((p) => `${APP_BASE}/api/oauth/${p}/callback`),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic'
    }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    cookies: { keys: ['provider-cookie-key-provider-cookie-key'] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
    features: { devInteractions: { enabled: true } },
    async findAccount (_ctx: unknown, id: string) {
      const account = ACCOUNTS[id]
      if (account === undefined) return undefined
      return { accountId: id, async claims () { return { sub: id, ...account } } }
    },
    // Consent is granted at once, so the browser-less flow is login only.
    async loadExistingGrant (ctx: any) {
      const accountId = ctx.oidc.session?.accountId
      if (accountId === undefined) return undefined
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId })
      grant.addOIDCScope('openid email profile')
      await grant.save()
      return grant
    }
  } as any)
  console.warn = warn
  const server: Server = createServer(provider.callback())
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    issuer,
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) }
  }
}

/**
 * Plays the browser at the provider: follows redirects with a cookie jar,
 * submits the login form as `login`, and returns the URL the provider
 * redirects back to the app with. `abort` cancels at the login form instead.
 */
export async function authorize (authUrl: string, login: string, abort = false): Promise<URL> {
  const jar = new Map<string, string>()
  let url = authUrl
  let body: string | undefined
  for (let i = 0; i < 12; i++) {
    const res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' })
      },
      ...(body === undefined ? {} : { body })
    })
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0] as string
      const at = pair.indexOf('=')
      const value = pair.slice(at + 1)
      if (value === '') jar.delete(pair.slice(0, at))
      else jar.set(pair.slice(0, at), value)
    }
    body = undefined
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location') as string, url)
      if (next.origin === APP_BASE) return next
      url = next.href
      continue
    }
    const text = await res.text()
    if (res.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
      if (abort) url = `${url}/abort`
      else body = new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString()
      continue
    }
    throw new Error(`unexpected ${res.status} at ${url}: ${text.slice(0, 300)}`)
  }
  throw new Error('too many redirects')
}

/**
 * A provider that publishes valid metadata but whose token endpoint fails
 * with `status` (JSON error body when `json`, an HTML page otherwise).
 */
export async function startFailingProvider (status: number, json: boolean): Promise<{ issuer: string, close: () => Promise<void> }> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256']
      }))
      return
    }
    res.statusCode = status
    res.setHeader('content-type', json ? 'application/json' : 'text/html')
    res.end(json ? JSON.stringify({ error: 'server_error' }) : '<html>bad gateway</html>')
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { issuer, close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) } }
}
