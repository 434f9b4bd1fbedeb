import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { challenge } from '../core/challenge.js'
import { errors } from '../core/errors.js'
import { isRecord } from '../core/json.js'
import { withResponses } from '../core/openapi.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { clearCookies, readCookie, REFRESH_COOKIE, SESSION_COOKIE, type CookiePaths } from './cookies.js'
import type { ResolvedRefreshOptions } from './options.js'
import type { RefreshApi } from './plugin.js'
import type { IssuedToken } from '../jwt/types.js'
import type { Rotation } from './rotation.js'

/** Everything the routes need, built once by the plugin. */
export interface RefreshRuntime {
  gk: Gatekeeper
  options: ResolvedRefreshOptions
  rotation: Rotation
  api: RefreshApi
  paths: CookiePaths
  usesBody: boolean
  usesCookie: boolean
  checkCsrf: (request: FastifyRequest) => void
  checkOrigin: (request: FastifyRequest) => void
  setAccessCookie: (reply: FastifyReply, issued: IssuedToken) => void
  deliver: (reply: FastifyReply, token: string, sessionId: string, expiresAt: Date) => Record<string, unknown>
}

/** Refresh bodies are one short field; anything bigger is refused unread. */
const BODY_LIMIT = 4 * 1024

function noStore (reply: FastifyReply): void {
  // RFC 6749 §5.1: responses carrying tokens must not be cached.
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

/** The caller, who must be a person: sessions are people's, not applications'. */
function person (gk: Gatekeeper, request: FastifyRequest, reply: FastifyReply): string {
  const auth = request.auth
  if (auth === null || auth.kind !== 'user') {
    reply.header('www-authenticate', gk.challengeFor(auth, 'insufficient_scope'))
    throw new errors.GK_FORBIDDEN()
  }
  return auth.subject
}

/**
 * The refresh, logout-everywhere and session routes. Registered as an
 * encapsulated plugin so its JSON parser, which takes an empty body as no
 * body (a cookie client may POST nothing), stays on these routes.
 */
export async function registerRefreshRoutes (app: FastifyInstance, rt: RefreshRuntime): Promise<void> {
  const { gk, rotation, api, paths, options } = rt
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined)
    else json(request, typeof body === 'string' ? body : body.toString('utf8'), done)
  })

  /** A refresh that looks like theft (a reused token, a bound session's token without its key): an anomaly for the operator. */
  function anomaly (type: 'refresh_reuse' | 'refresh_unbound', result: { familyId: string, userId: string }, request: FastifyRequest): void {
    const ua = request.headers['user-agent']
    gk.emit('anomaly', {
      type,
      time: new Date(gk.now()),
      familyId: result.familyId,
      userId: result.userId,
      ip: request.ip,
      userAgent: typeof ua === 'string' ? ua.slice(0, 256) : null
    })
  }

  function invalidGrant (reply: FastifyReply): never {
    reply.header('www-authenticate', challenge('Bearer', gk.realm, 'invalid_token'))
    throw new errors.GK_INVALID_GRANT()
  }

  // An unparsable body gets the library's stable code, like every other bad input (an oversized one keeps its 413).
  const errorHandler = (err: FastifyError): never => {
    if (err.statusCode === 400 && typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP_')) throw new errors.GK_INVALID_REQUEST('body must be JSON')
    throw err
  }

  // The GK_ errors the route answers, for the OpenAPI document (gatekeeperOpenApi).
  const schema = withResponses({}, rt.usesCookie ? [400, 401, 403] : [400, 401])
  app.post(options.routes.refresh, { bodyLimit: BODY_LIMIT, errorHandler, schema, config: { auth: false } }, async function refreshToken (request, reply) {
    noStore(reply)
    let presented: unknown
    let fromCookie = false
    const body = request.body
    if (rt.usesBody && isRecord(body) && body.refreshToken !== undefined) {
      presented = body.refreshToken
    } else if (rt.usesCookie) {
      presented = readCookie(request, REFRESH_COOKIE)
      fromCookie = presented !== null
    }
    // The browser attaches the cookie to cross-site requests on its own: demand the CSRF defence.
    if (fromCookie) rt.checkCsrf(request)
    // A cross-site page gets nothing here even without the cookie.
    else if (rt.usesCookie) rt.checkOrigin(request)
    const result = await rotation.rotate(presented, (gk.has('dpop') ? await gk.dpop.bind(request, reply) : null))
    if (result.status !== 'ok') {
      if (result.status === 'unbound') {
        // RFC 9449 §5: the refresh token of a bound session without its key: stolen.
        gk.jwt.endSessions({ sessionId: result.familyId })
        gk.record({ type: 'refresh.dpop_mismatch', outcome: 'failure', reason: 'GK_INVALID_GRANT', subject: result.userId, userId: result.userId, familyId: result.familyId, withProof: gk.has('dpop') && gk.dpop.boundKey(request) != null }, request)
        anomaly('refresh_unbound', result, request)
      }
      if (result.status === 'reuse') {
        // The family is revoked: so are the access tokens issued for it (with checkUser).
        gk.jwt.endSessions({ sessionId: result.familyId })
        gk.record({ type: 'refresh.reuse_detected', outcome: 'failure', reason: 'GK_INVALID_GRANT', subject: result.userId, userId: result.userId, familyId: result.familyId }, request)
        if (result.alarm) anomaly('refresh_reuse', result, request)
      }
      if (fromCookie) clearCookies(reply, paths)
      invalidGrant(reply)
    }
    gk.record({ type: 'token.refreshed', outcome: 'success', subject: result.userId, userId: result.userId, familyId: result.familyId, replay: result.replay }, request)
    // Whatever login sets, a refresh renews: the access cookie too, or a browser on the
    // cookie transport would be signed out at the first access-token expiry.
    // A bound token is useless without the key, so it never rides in a cookie.
    if (result.access.tokenType !== 'DPoP') rt.setAccessCookie(reply, result.access)
    return { ...result.access, ...rt.deliver(reply, result.refreshToken, result.familyId, result.expiresAt) }
  })

  // Sessions are people's: `kind: 'user'` refuses applications (403) and keeps API keys
  // out of the OpenAPI document of these routes; `person()` checks it again.
  const logoutAll = options.routes.logoutAll
  if (logoutAll !== false) {
    app.post(logoutAll, { bodyLimit: BODY_LIMIT, config: { auth: { kind: 'user' } } }, async function logoutEverywhere (request, reply) {
      const userId = person(gk, request, reply)
      const revoked = await api.revokeAll(userId, 'logout_all', request)
      gk.record({ type: 'logout', outcome: 'success', subject: userId, userId, scope: 'all', sessions: revoked }, request)
      if (rt.usesCookie) clearCookies(reply, paths)
      noStore(reply)
      return { revoked }
    })
  }

  const sessions = options.routes.sessions
  if (sessions !== false) {
    const currentOf = (request: FastifyRequest): string | null => rt.usesCookie ? readCookie(request, SESSION_COOKIE) : null

    app.get(sessions, { config: { auth: { kind: 'user' } } }, async function listSessions (request, reply) {
      const userId = person(gk, request, reply)
      noStore(reply)
      return { sessions: await api.sessions(userId, currentOf(request)) }
    })

    app.delete<{ Params: { id: string } }>(`${sessions}/:id`, { config: { auth: { kind: 'user' } } }, async function revokeSession (request, reply) {
      const userId = person(gk, request, reply)
      const { id } = request.params
      // Another user's session is answered exactly like an unknown one.
      if (!await api.revokeSession(userId, id, request)) throw new errors.GK_NOT_FOUND('session')
      if (currentOf(request) === id) clearCookies(reply, paths)
      reply.code(204).send()
    })
  }
}
