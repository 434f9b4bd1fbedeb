import type { FastifyInstance } from 'fastify'
import { configError } from '../core/errors.js'
import type { IdentityRepository } from '../stores/types.js'
import type { NormalizedOidc } from './oidc-options.js'
import { OidcLogin, type OpenIdClient } from './oidc.js'

/** Loads openid-client, an optional peer dependency needed only with `providers`. */
export async function loadOpenIdClient (load: () => Promise<OpenIdClient> = async () => await import('openid-client')): Promise<OpenIdClient> {
  try {
    return await load()
  } catch {
    return configError('oauth2 providers need the openid-client package (v6): npm install openid-client')
  }
}

/**
 * The routes of the OpenID Connect login: `GET /api/oauth/:provider/start`,
 * `POST /api/oauth/:provider/link` and `GET /api/oauth/:provider/callback`.
 * Returns the relying party, for `app.gatekeeper.oauth2.link()`.
 */
export function oidcRoutes (app: FastifyInstance, o: NormalizedOidc, client: OpenIdClient, identities: IdentityRepository): OidcLogin {
  const gk = app.gatekeeper
  const login = new OidcLogin(app, o, client, identities)
  const params = { type: 'object', properties: { provider: { type: 'string', maxLength: 32 } }, required: ['provider'] } as const

  // Always a login: linking to the signed-in account is the explicit POST below, never a side effect of a GET.
  app.get<{ Params: { provider: string } }>('/api/oauth/:provider/start', { schema: { params }, config: { auth: false } }, async (request, reply) => {
    await login.start(request.params.provider, request, reply)
    return reply
  })

  // A signed-in person links an identity to their account: the answer is the provider URL to send the browser to.
  // An unsafe method, so a cookie-carried session needs the CSRF defence (the jwt strategy demands it).
  app.post<{ Params: { provider: string } }>('/api/oauth/:provider/link', { schema: { params }, config: { auth: { strategies: ['jwt'] } } }, async (request, reply) => {
    return await login.link(request.params.provider, request, reply)
  })

  app.get<{ Params: { provider: string } }>('/api/oauth/:provider/callback', { schema: { params }, config: { auth: false } }, async (request, reply) => {
    const { user, created } = await login.callback(request.params.provider, request, reply)
    // The same completion as a password login: access cookie, refresh session (any transport), audit.
    return await gk.jwt.completeLogin(user, request, reply, { method: 'oidc', provider: request.params.provider, created })
  })
  return login
}
