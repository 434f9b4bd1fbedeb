import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, isGatekeeperError } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { withResponses } from '../core/openapi.js'
import type { JwtApi, UserApi } from '../jwt/types.js'
import { combineAmr, type MfaFlow } from './flow.js'
import type { NormalizedMfaOptions } from './options.js'
import { requireAuthentication } from './step-up.js'
import type { MfaApi } from './types.js'
import { isRecord } from '../core/json.js'

/** A WebAuthn assertion is a few kilobytes; nothing here needs more. */
const BODY_LIMIT = 32 * 1024

function invalidBody (err: FastifyError, _request: FastifyRequest, _reply: FastifyReply): never {
  if (!isGatekeeperError(err) && (err.validation !== undefined || (typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP_')))) {
    throw new errors.GK_INVALID_REQUEST('body must be a JSON object with the documented fields')
  }
  throw err
}

function objectBody (request: FastifyRequest, optional = false): Record<string, unknown> {
  const body = request.body
  if ((body === undefined || body === null) && optional) return {}
  if (!isRecord(body)) throw new errors.GK_INVALID_REQUEST('body must be a JSON object')
  return body
}

function subjectOf (request: FastifyRequest): string {
  const auth = request.auth
  if (auth === null || auth.kind !== 'user') throw new errors.GK_FORBIDDEN()
  return auth.subject
}

/** The `mfa` plugin's routes: the second login step, the step-up, and the management of a user's factors. */
export function registerMfaRoutes (app: FastifyInstance, deps: { gk: Gatekeeper, jwt: JwtApi, users: UserApi, flow: MfaFlow, api: MfaApi, o: NormalizedMfaOptions }): void {
  const { gk, jwt, users, flow, api, o } = deps
  const routes = o.routes
  if (routes === null) return
  const common = { bodyLimit: BODY_LIMIT, errorHandler: invalidBody }
  const person = { strategies: ['jwt'], kind: 'user' as const }
  const recent = (request: FastifyRequest): void => { requireAuthentication(gk, request, { mfa: false, maxAgeMs: o.recentAuthMs }, o.acr) }

  app.post(routes.loginMfa, { ...common, schema: withResponses({}, [400, 401, 403, 429]), config: { auth: false } }, async function loginMfa (request, reply) {
    // Login CSRF, as on the password step.
    if (jwt.cookieName !== null) jwt.checkOrigin(request)
    const body = objectBody(request)
    // Only a step-up challenge needs to know the caller; an expired token must not stop a login.
    try {
      const ctx = await gk.strategy('jwt')?.authenticate(request, reply)
      if (ctx != null) request.auth = ctx
    } catch {}
    return await flow.complete(body, request, reply)
  })

  app.post(routes.stepUp, { ...common, schema: withResponses({}, [400, 401, 403, 429]), config: { auth: person } }, async function stepUp (request, reply) {
    const userId = subjectOf(request)
    const body = objectBody(request, true)
    for (const k of Object.keys(body)) if (k !== 'password') throw new errors.GK_INVALID_REQUEST('the step-up takes { password? }; the second factor comes to the login/mfa route with the challenge')
    const password = body.password
    if (password !== undefined && (typeof password !== 'string' || password.length === 0 || password.length > 1024)) throw new errors.GK_INVALID_REQUEST('password must be a string')
    let pwd = false
    if (password !== undefined) {
      // Counted like a login attempt by the login guards.
      if (await users.verifyPassword(userId, password, request) === null) throw new errors.GK_INVALID_CREDENTIALS()
      pwd = true
    }
    const claims = request.auth?.claims ?? {}
    const sid = typeof claims.sid === 'string' ? claims.sid : null
    const had = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : []
    const user = await gk.store.users.findById(userId)
    if (user === null || user.disabled) throw new errors.GK_UNAUTHORIZED()
    const { passwordHash: _h, ...pub } = user
    const pending = await flow.pending(pub, request, { sid, amr: combineAmr(had, pwd ? ['pwd'] : []) })
    if (pending !== null) {
      reply.header('cache-control', 'no-store')
      return pending
    }
    // No second factor: the password alone renews the authentication.
    if (!pwd) throw new errors.GK_INVALID_REQUEST('password is required: the account has no second factor')
    return await flow.reissue(pub, sid, combineAmr(had, ['pwd']), gk.now(), request, reply)
  })

  const f = routes.factors
  app.get(f, { config: { auth: person } }, async function listFactors (request, reply) {
    const userId = subjectOf(request)
    const out: Record<string, unknown> = {}
    for (const factor of flow.factors) out[factor.name] = await factor.describe?.(userId) ?? null
    reply.header('cache-control', 'no-store')
    return { enrolled: await api.enrolledFactors(userId), factors: out }
  })

  app.post(`${f}/totp`, { ...common, schema: withResponses({}, [401, 403, 409]), config: { auth: person } }, async function enrolTotp (request, reply) {
    const enrolment = await api.enrolTotp(subjectOf(request), request)
    reply.header('cache-control', 'no-store').code(201)
    return enrolment
  })

  app.post(`${f}/totp/confirm`, { ...common, schema: withResponses({}, [400, 401, 403, 404]), config: { auth: person } }, async function confirmTotp (request, reply) {
    const userId = subjectOf(request)
    const body = objectBody(request)
    if (typeof body.code !== 'string' || body.code.length > 16 || Object.keys(body).length !== 1) throw new errors.GK_INVALID_REQUEST('body must be { code }')
    const codes = await api.confirmTotp(userId, body.code, request)
    if (codes === null) throw new errors.GK_INVALID_CREDENTIALS()
    reply.header('cache-control', 'no-store')
    return codes.length === 0 ? { confirmed: true } : { confirmed: true, recoveryCodes: codes }
  })

  app.delete(`${f}/totp`, { schema: withResponses({}, [401, 403, 404]), config: { auth: person } }, async function disableTotp (request, reply) {
    const userId = subjectOf(request)
    recent(request)
    if (!await api.disableTotp(userId, request)) throw new errors.GK_NOT_FOUND('no TOTP authenticator is set up')
    reply.code(204).send()
  })

  app.post(`${f}/recovery-codes`, { ...common, schema: withResponses({}, [401, 403, 409]), config: { auth: person } }, async function regenerate (request, reply) {
    const userId = subjectOf(request)
    recent(request)
    const recoveryCodes = await api.regenerateRecoveryCodes(userId, request)
    reply.header('cache-control', 'no-store')
    return { recoveryCodes }
  })
}
