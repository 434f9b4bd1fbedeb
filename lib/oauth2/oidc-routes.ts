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

/** The routes of the OpenID Connect login: `GET /api/oauth/:provider/start` and `GET /api/oauth/:provider/callback`. */
export function oidcRoutes (app: FastifyInstance, o: NormalizedOidc, client: OpenIdClient, identities: IdentityRepository): void {
  const gk = app.gatekeeper
  const login = new OidcLogin(app, o, client, identities)
  const params = { type: 'object', properties: { provider: { type: 'string', maxLength: 32 } }, required: ['provider'] } as const

  // Anonymous callers start a login; a logged-in user starts linking an identity to their account.
  app.get<{ Params: { provider: string } }>('/api/oauth/:provider/start', { schema: { params }, config: { auth: { strategies: ['jwt'], optional: true } } }, async (request, reply) => {
    await login.start(request.params.provider, request, reply)
    return reply
  })

  app.get<{ Params: { provider: string } }>('/api/oauth/:provider/callback', { schema: { params }, config: { auth: false } }, async (request, reply) => {
    const { user, created } = await login.callback(request.params.provider, request, reply)
    // The same completion as a password login: access cookie, refresh session (any transport), audit.
    return await gk.jwt.completeLogin(user, request, reply, { method: 'oidc', provider: request.params.provider, created })
  })
}
