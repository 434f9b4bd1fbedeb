import type { FastifyInstance } from 'fastify'
import type { NormalizedOidc } from './oidc-options.js'
import { OidcLogin } from './oidc.js'

/** The routes of the OpenID Connect login: `GET /api/oauth/:provider/start` and `GET /api/oauth/:provider/callback`. */
export function oidcRoutes (app: FastifyInstance, o: NormalizedOidc): void {
  const gk = app.gatekeeper
  const login = new OidcLogin(app, o)
  const params = { type: 'object', properties: { provider: { type: 'string', maxLength: 32 } }, required: ['provider'] } as const

  // Anonymous callers start a login; a logged-in user starts linking an identity to their account.
  app.get<{ Params: { provider: string } }>('/api/oauth/:provider/start', { schema: { params }, config: { auth: { strategies: ['jwt'], optional: true } } }, async (request, reply) => {
    await login.start(request.params.provider, request, reply)
    return reply
  })

  app.get<{ Params: { provider: string } }>('/api/oauth/:provider/callback', { schema: { params }, config: { auth: false } }, async (request, reply) => {
    const { user, created } = await login.callback(request.params.provider, request, reply)
    const token = await gk.tokens.issue(user)
    const body: Record<string, unknown> = { ...token }
    const refresh = gk.refresh
    if (refresh !== undefined && refresh.transport !== 'cookie') {
      const session = await refresh.start(user.id, request)
      body.refreshToken = session.refreshToken
      body.refreshExpiresIn = session.expiresIn
    }
    gk.record({ type: 'login.success', outcome: 'success', subject: user.id, method: 'oidc', provider: request.params.provider, created }, request)
    return body
  })
}
