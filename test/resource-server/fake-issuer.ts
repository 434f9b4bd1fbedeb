import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { freePort } from '../helpers.js'

/** A key pair of the fake issuer. */
export interface FakeKey {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
}

/** A new key pair. */
export async function fakeKey (kid: string, alg: 'ES256' | 'RS256' | 'EdDSA' | 'PS256' = 'ES256'): Promise<FakeKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** How the fake issuer answers its JWK Set requests. */
export type JwksMode = 'ok' | 'down' | 'error' | 'garbage' | 'not-a-set' | 'huge' | 'slow' | 'redirect'

/**
 * An authorization server under the test's control: OpenID metadata, a JWK
 * Set whose keys, `Cache-Control` and failures the test sets, an
 * introspection endpoint answering what the test says, and request
 * counters. Tokens are signed by the test with {@link FakeIssuer.sign}.
 */
export interface FakeIssuer {
  issuer: string
  keys: FakeKey[]
  /** The published keys (default: every key's public JWK). */
  published: JWK[] | null
  jwksMode: JwksMode
  cacheControl: string | null
  /** Requests per path. */
  hits: Map<string, number>
  /** Answer of the introspection endpoint for a token (default inactive). */
  introspection: (token: string, auth: string | undefined) => { status: number, body: unknown }
  /** Metadata changes (merged into the default document). */
  metadata: Record<string, unknown>
  sign: (payload: JWTPayload, o?: { key?: FakeKey, header?: Record<string, unknown>, typ?: string | null }) => Promise<string>
  close: () => Promise<void>
}

function count (hits: Map<string, number>, path: string): void {
  hits.set(path, (hits.get(path) ?? 0) + 1)
}

/** Starts a fake issuer on loopback. */
export async function startFakeIssuer (o: { keys?: FakeKey[], path?: string } = {}): Promise<FakeIssuer> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}${o.path ?? ''}`
  const fake: FakeIssuer = {
    issuer,
    keys: o.keys ?? [await fakeKey('k1')],
    published: null,
    jwksMode: 'ok',
    cacheControl: null,
    hits: new Map(),
    introspection: () => ({ status: 200, body: { active: false } }),
    metadata: {},
    async sign (payload, s = {}) {
      const key = s.key ?? fake.keys[0] as FakeKey
      const header: Record<string, unknown> = { alg: key.alg, kid: key.kid, ...(s.typ === null ? {} : { typ: s.typ ?? 'at+jwt' }), ...s.header }
      return await new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
    },
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) }
  }
  const base = `http://127.0.0.1:${port}`
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(typeof body === 'string' ? body : JSON.stringify(body))
  }
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] as string
    count(fake.hits, path)
    if (path === `${o.path ?? ''}/.well-known/openid-configuration` || path === `/.well-known/oauth-authorization-server${o.path ?? ''}`) {
      if (path.startsWith('/.well-known/oauth-authorization-server')) return json(res, 404, { error: 'not_found' })
      return json(res, 200, {
        issuer,
        jwks_uri: `${base}/jwks`,
        token_endpoint: `${base}/token`,
        authorization_endpoint: `${base}/authorize`,
        introspection_endpoint: `${base}/introspect`,
        grant_types_supported: ['authorization_code', 'client_credentials'],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        ...fake.metadata
      })
    }
    if (path === '/jwks') {
      const headers: Record<string, string> = fake.cacheControl === null ? {} : { 'cache-control': fake.cacheControl }
      switch (fake.jwksMode) {
        case 'down': req.socket.destroy(); return
        case 'error': return json(res, 500, { error: 'server_error' })
        case 'garbage': return json(res, 200, '<html>not json</html>', headers)
        case 'not-a-set': return json(res, 200, { keys: 'nope' }, headers)
        case 'huge': return json(res, 200, { keys: (fake.published ?? fake.keys.map((k) => k.publicJwk)), padding: 'x'.repeat(200_000) }, headers)
        case 'slow': setTimeout(() => { json(res, 200, { keys: fake.keys.map((k) => k.publicJwk) }, headers) }, 3000).unref(); return
        case 'redirect': res.writeHead(302, { location: `${base}/elsewhere` }); res.end(); return
        default: return json(res, 200, { keys: fake.published ?? fake.keys.map((k) => k.publicJwk) }, headers)
      }
    }
    if (path === '/introspect' && req.method === 'POST') {
      let body = ''
      req.on('data', (c) => { body += String(c) })
      req.on('end', () => {
        const token = new URLSearchParams(body).get('token') ?? ''
        const answer = fake.introspection(token, req.headers.authorization)
        json(res, answer.status, answer.body)
      })
      return
    }
    json(res, 404, { error: 'not_found' })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return fake
}

/** Seconds since the epoch. */
export function nowS (ms = Date.now()): number {
  return Math.floor(ms / 1000)
}

/** Standard claims of an access token of `fake` for `aud`, valid for 10 minutes. */
export function claims (fake: FakeIssuer, aud: string | string[], extra: JWTPayload = {}): JWTPayload {
  const iat = nowS()
  return { iss: fake.issuer, sub: 'user-1', aud, iat, exp: iat + 600, jti: `jti-${Math.random().toString(36).slice(2)}`, client_id: 'web', scope: 'tools:read', ...extra }
}
