import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import { errors } from '../core/errors.js'
import { withResponses } from '../core/openapi.js'
import type { PasskeysContext } from './context.js'
import { view } from './context.js'
import { bodyRoute, ID_PARAMS, invalidRequestErrors, LOGIN_BODY, REGISTER_BODY, RENAME_BODY } from './schema.js'

const EMPTY = { type: 'object', additionalProperties: false, properties: {} } as const
/** Only a person signed in with an access token manages passkeys, never an API key. */
const JWT = { strategies: ['jwt'] }

/** The signed-in user of a route that requires one (the core refuses the request otherwise). */
function subjectOf (request: FastifyRequest): string {
  if (request.auth === null) throw new errors.GK_UNAUTHORIZED()
  return request.auth.subject
}

/** The session a ceremony belongs to: the refresh session the token names, else the token itself. */
export function sessionOf (request: FastifyRequest): string {
  const auth = request.auth
  if (auth === null) throw new errors.GK_UNAUTHORIZED()
  const sid = auth.claims?.sid
  return `${auth.subject}:${typeof sid === 'string' ? sid : auth.tokenId ?? ''}`
}

/** The passkeys plugin's routes under `prefix`. */
export function passkeyRoutes (app: FastifyInstance, ctx: PasskeysContext, prefix: string): void {
  const { gk, ceremonies, api } = ctx

  // Login CSRF: with the cookie transport, a page on another site must not sign the victim into an account.
  const sameSite = (request: FastifyRequest): void => { if (gk.has('jwt') && gk.jwt.cookieName != null) gk.jwt.checkOrigin(request) }

  app.post(`${prefix}/register/options`, { ...bodyRoute({ body: EMPTY }, [401, 409]), config: { auth: JWT } }, async function passkeyRegistrationOptions (request, reply) {
    const userId = subjectOf(request)
    const user = await gk.store.users.findById(userId)
    if (user === null || user.disabled) throw new errors.GK_UNAUTHORIZED()
    const started = await ctx.attempt(request, () => ceremonies.registrationOptions({ id: user.id, username: user.username }, sessionOf(request)))
    reply.header('cache-control', 'no-store')
    return started
  })

  app.post<{ Body: { challenge: string, response: RegistrationResponseJSON, name?: string } }>(`${prefix}/register`, { ...bodyRoute({ body: REGISTER_BODY }, [401, 409]), config: { auth: JWT } }, async function passkeyRegister (request, reply) {
    const { challenge, response, name } = request.body
    const userId = subjectOf(request)
    const passkey = await ctx.attempt(request, () => ceremonies.register(userId, sessionOf(request), challenge, response, name ?? 'Passkey'))
    gk.record({ type: 'passkey.registered', outcome: 'success', userId, credentialId: passkey.id, backedUp: passkey.backedUp }, request)
    reply.code(201)
    return view(passkey)
  })

  app.get(prefix, { schema: withResponses({}, [401]), config: { auth: JWT } }, async function listPasskeys (request) {
    return await api.list(subjectOf(request))
  })

  app.patch<{ Body: { name: string }, Params: { id: string } }>(`${prefix}/:id`, { ...bodyRoute({ body: RENAME_BODY, params: ID_PARAMS }, [401, 404]), config: { auth: JWT } }, async function renamePasskey (request) {
    const { id } = request.params
    const userId = subjectOf(request)
    const renamed = await api.rename(userId, id, request.body.name)
    if (renamed === null) throw new errors.GK_NOT_FOUND('passkey')
    gk.record({ type: 'passkey.renamed', outcome: 'success', userId, credentialId: id }, request)
    return renamed
  })

  app.delete<{ Params: { id: string } }>(`${prefix}/:id`, { schema: withResponses({ params: ID_PARAMS }, [400, 401, 404]), errorHandler: invalidRequestErrors, config: { auth: JWT } }, async function removePasskey (request, reply) {
    ctx.requireRecentLogin(request)
    const { id } = request.params
    const userId = subjectOf(request)
    if (!await api.remove(userId, id)) throw new errors.GK_NOT_FOUND('passkey')
    gk.record({ type: 'passkey.removed', outcome: 'success', userId, credentialId: id }, request)
    reply.code(204).send()
  })

  app.post(`${prefix}/login/options`, { ...bodyRoute({ body: EMPTY }, []), config: { auth: false } }, async function passkeyLoginOptions (request, reply) {
    sameSite(request)
    reply.header('cache-control', 'no-store')
    return await ceremonies.authenticationOptions('login')
  })

  app.post<{ Body: { challenge: string, response: AuthenticationResponseJSON } }>(`${prefix}/login`, { ...bodyRoute({ body: LOGIN_BODY }, [401]), config: { auth: false } }, async function passkeyLogin (request, reply) {
    sameSite(request)
    const { challenge, response } = request.body
    const { user, amr } = await ctx.assert(request, 'login', challenge, 'login', response)
    if (!gk.has('jwt')) throw new errors.GK_UNAUTHORIZED()
    return await gk.jwt.completeLogin(user, request, reply, { method: 'passkey' }, { amr, authTime: gk.now() })
  })
}
