/**
 * A loopback authorization server for the `resource-server` variant, run in
 * a process of its own (`node --import tsx bench/lib/authorization-server.ts`):
 * oidc-provider with client credentials and resource indicators, issuing
 * ES256 JWT access tokens (RFC 9068). Kept apart from the measured server so
 * that its CPU, and the AsyncLocalStorage oidc-provider enables (which makes
 * every promise of a process costlier), stay out of the measurement. Prints
 * `AS_READY <issuer>` and exits when stdin closes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'

/** The resource the tokens are for. */
export const BENCH_RESOURCE = 'https://bench.api.test'
/** The client that gets tokens. */
export const BENCH_CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789-abcdefghij' }

async function main (): Promise<void> {
  const warn = console.warn
  console.warn = () => {}
  const moduleName = 'oidc-provider'
  const { default: Provider } = await import(moduleName)
  console.warn = warn
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  // The listening port first: the issuer URL names it.
  let serve: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => { res.statusCode = 503; res.end() }
  const server = createServer((req, res) => { serve(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
    clients: [{ client_id: BENCH_CLIENT.id, client_secret: BENCH_CLIENT.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], id_token_signed_response_alg: 'ES256' }],
    ttl: { ClientCredentials: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => BENCH_RESOURCE,
        getResourceServerInfo: () => ({ scope: 'bench:read', audience: BENCH_RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } })
      }
    }
  })
  serve = provider.callback()
  process.stdin.on('end', () => { server.close(); process.exit(0) })
  process.stdin.resume()
  process.stdout.write(`AS_READY ${issuer}\n`)
}

if (process.argv[1]?.endsWith('authorization-server.ts') === true) await main()
