/**
 * What every benchmark server shares: the handler and its response, the
 * fixtures (secret, issuer, audience), and `announce`, which listens on an
 * ephemeral loopback port, prints the ready line and exits when the driver
 * closes stdin (so no server outlives a crashed driver).
 */
import type { FastifyInstance } from 'fastify'
import { formatReady, type ReadyInfo } from './protocol.js'

/** The measured route of every variant but the versioned pair. */
export const BENCH_PATH = '/bench'

/** The body every variant answers with. */
export const RESPONSE = { hello: 'world' }

/** The one handler every variant serves. */
export async function handler (): Promise<typeof RESPONSE> {
  return RESPONSE
}

/** HS256 secret of the JWT variants (benchmark fixture, 32+ bytes). */
export const JWT_SECRET = 'bench-only-secret-0123456789abcdef0123456789'
/** `iss` of the JWT variants. */
export const ISSUER = 'bench.gatekeeper'
/** `aud` of the JWT variants. */
export const AUDIENCE = 'bench-api'
/** The user the JWT variants log in as. */
export const USER = { username: 'bench', password: 'bench-password-not-secret', roles: ['user'] }

/** Listens on 127.0.0.1, an ephemeral port, announces `info` and waits for stdin to close. */
export async function announce (app: FastifyInstance, info: Omit<ReadyInfo, 'port'>): Promise<void> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  let closing = false
  const close = (): void => {
    if (closing) return
    closing = true
    // --cpu-prof writes its profile at a normal exit, which this is.
    app.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.stdin.on('end', close)
  process.stdin.on('error', close)
  process.stdin.resume()
  process.on('SIGTERM', close)
  process.stdout.write(formatReady({ port: address.port, ...info }))
}
