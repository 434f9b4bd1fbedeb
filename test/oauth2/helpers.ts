import Fastify, { type FastifyInstance } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { oauth2, type OAuth2Options } from '../../lib/oauth2/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

export const SECRET = 'test-secret-test-secret-test-sec'

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

/**
 * An app with the core (memory store, settable clock, audit events kept),
 * jwt, oauth2, `GET /me` echoing request.auth and `GET /reports` requiring
 * the scope `reports:read`.
 */
export async function oauthApp (opts: OAuth2Options = {}, jwtOpts: Partial<JwtOptions> = {}): Promise<{ app: FastifyInstance, clock: Clock, events: AuditEvent[] }> {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const events: AuditEvent[] = []
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, audit: { log: false, onEvent: (e) => { events.push(e) } } })
  await app.register(jwt, { secret: SECRET, issuer: 'https://issuer.test', audience: 'api.test', ...jwtOpts })
  await app.register(oauth2, opts)
  app.get('/me', async (req) => req.auth)
  app.get('/reports', { config: { auth: { scopes: ['reports:read'] } } }, async () => ({ reports: [] }))
  return { app, clock, events }
}

/** `Authorization: Basic` for a client id and secret (RFC 6749 §2.3.1: form-urlencoded first). */
export function basic (id: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

/** Sends a form-encoded token request. */
export async function tokenRequest (app: FastifyInstance, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  return app.inject({
    method: 'POST',
    url: '/api/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(form).toString()
  })
}
