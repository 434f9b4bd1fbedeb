import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, isGatekeeperError } from '../core/errors.js'
import { withResponses } from '../core/openapi.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { Strategy } from '../core/types.js'
import { clientAddress } from '../protection/ip.js'
import { normalizeLogin } from '../stores/types.js'
import type { CsrfChecks } from './csrf.js'
import type { NormalizedJwtOptions } from './options.js'
import type { Passwords } from './passwords.js'
import { stringBodySchema, stringBodyValidator, type StringField } from './schema.js'
import type { TokenService } from './tokens.js'
import { isValidEmail, MAX_EMAIL_LENGTH } from './email.js'
import type { IssuedToken, LoginAuthentication, LoginExtension, LoginGuard, LoginStep, LogoutExtension, PublicUser, RegisterExtension } from './types.js'
import { MAX_USERNAME_LENGTH, publicUser, type Users } from './users.js'

/** Everything the routes need, built once by the plugin. */
export interface JwtRuntime {
  gk: Gatekeeper
  options: NormalizedJwtOptions
  passwords: Passwords
  tokens: TokenService
  users: Users
  csrf: CsrfChecks
  strategy: Strategy
  guards: LoginGuard[]
  loginExtensions: LoginExtension[]
  loginSteps: LoginStep[]
  logoutExtensions: LogoutExtension[]
  registerExtensions: RegisterExtension[]
}

/** Bodies of these routes are a few hundred bytes; refuse anything bigger unread. */
const BODY_LIMIT = 8 * 1024

/** Attributes of the access-token cookie (a `__Host-` cookie: Secure, Path=/, no Domain). */
export const COOKIE_ATTRIBUTES = Object.freeze({ httpOnly: true, secure: true, sameSite: 'strict' as const, path: '/' })

/**
 * Route-level error handler: body parsing and validation failures become
 * `GK_INVALID_REQUEST` (one stable code for every malformed login), the
 * rest goes on to the application's handler unchanged.
 */
function invalidRequestErrors (err: FastifyError, _request: FastifyRequest, _reply: FastifyReply): never {
  if (!isGatekeeperError(err) && (err.validation !== undefined || (typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP_')))) {
    throw new errors.GK_INVALID_REQUEST('body must be a JSON object with the documented fields')
  }
  throw err
}

function bodyRoute (fields: Record<string, StringField>, responses: readonly number[]): Record<string, unknown> {
  const validate = stringBodyValidator(fields)
  return {
    bodyLimit: BODY_LIMIT,
    // The GK_ errors the route answers, for the OpenAPI document (gatekeeperOpenApi).
    schema: withResponses({ body: stringBodySchema(fields) }, [400, ...responses]),
    validatorCompiler: () => validate,
    errorHandler: invalidRequestErrors
  }
}

/** Sets the access-token cookie when the cookie transport is on (`cookieName` not `null`). */
export function setAccessCookie (cookieName: string | null, reply: FastifyReply, issued: IssuedToken): void {
  if (cookieName !== null) reply.setCookie(cookieName, issued.accessToken, { ...COOKIE_ATTRIBUTES, maxAge: issued.expiresIn })
}

/**
 * Finishes a login whoever checked the credentials (the password route, an
 * OpenID Connect callback): success guards, the access token, login
 * extensions (refresh tokens), the access cookie, the audit event.
 */
export async function completeLogin (
  rt: JwtRuntime, user: PublicUser, request: FastifyRequest, reply: FastifyReply, details: Record<string, unknown> = {}, authentication: LoginAuthentication = {}
): Promise<Record<string, unknown>> {
  // RFC 9449 §5: a DPoP proof binds the session's tokens to the client's key (checked once per request).
  const jkt = rt.gk.has('dpop') ? await rt.gk.dpop.bind(request, reply) : null
  for (const g of rt.guards) await g.onSuccess?.(request, user)
  const auth: LoginAuthentication = { ...(authentication.amr === undefined ? {} : { amr: [...authentication.amr] }), authTime: authentication.authTime ?? rt.gk.now() }
  // Extensions first: the refresh plugin's opens the session, whose id the access token names (`sid`) for checkUser.
  const extra: Record<string, unknown> = {}
  for (const ext of rt.loginExtensions) Object.assign(extra, await ext(user, request, reply, auth))
  const sid = rt.options.checkUser !== null && typeof extra.sessionId === 'string' ? extra.sessionId : undefined
  const issued = await rt.tokens.issue(user, { ...(sid === undefined ? {} : { sessionId: sid }), ...auth, ...(jkt === null ? {} : { jkt }) })
  // A bound token is useless without the key, so it never rides in a cookie.
  if (jkt === null) setAccessCookie(rt.options.cookieName, reply, issued)
  rt.gk.record({ ...details, type: 'login.success', outcome: 'success', subject: user.id, userId: user.id }, request)
  // RFC 6749 §5.1: responses carrying tokens must not be cached.
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  return { ...extra, ...issued }
}

/** Registers login, logout and, when enabled, register and password-change routes. */
export function registerRoutes (app: FastifyInstance, rt: JwtRuntime): void {
  const routes = rt.options.routes
  if (routes === null) return
  const { gk, passwords, users, options } = rt
  const maxPassword = options.password.maxLength
  const cookieName = options.cookieName
  const credentials = {
    username: { minLength: 1, maxLength: MAX_USERNAME_LENGTH, name: true },
    // Only the length bound at login: older accounts may predate a stricter minimum.
    password: { minLength: 1, maxLength: maxPassword }
  }

  const csrf403 = cookieName === null ? [] : [403]
  // Brute-force protection answers 429 GK_ACCOUNT_LOCKED at the login route.
  const locked429 = !gk.has('protection') || gk.protection.bruteForce === null ? [] : [429]
  app.post<{ Body: { username: string, password: string } }>(routes.login, { ...bodyRoute(credentials, [401, ...csrf403, ...locked429]), config: { auth: false } }, async function login (request, reply) {
    const { username, password } = request.body
    // Login CSRF: a browser on another site must not log the victim into an attacker's account.
    if (cookieName !== null) rt.csrf.origin(request)
    // The proof is checked before the password: a bad one costs no argon2 run and counts no attempt.
    if (gk.has('dpop')) await gk.dpop.bind(request, reply)
    const attempt = { username, login: normalizeLogin(username) }
    // Guards whose `before` let the attempt through; until a verdict they are owed onError.
    let admitted = 0
    let verdict = false
    try {
      for (const g of rt.guards) {
        await g.before?.(request, attempt)
        admitted++
      }
      const user = await gk.store.users.findByLogin(username)
      // Unknown users cost one argon2 verification too, so timing does not reveal which names exist.
      const queue = clientAddress(request.ip)
      const ok = user === null || user.passwordHash === null
        ? await passwords.dummyVerify(queue)
        : await passwords.verify(user.passwordHash, password, queue)
      if (!ok || user === null || user.passwordHash === null || user.disabled) {
        verdict = true
        const pub = user === null ? null : publicUser(user)
        for (const g of rt.guards) await g.onFailure?.(request, attempt, pub)
        gk.record({
          type: 'login.failure',
          outcome: 'failure',
          reason: 'GK_INVALID_CREDENTIALS',
          cause: user === null ? 'unknown_user' : user.disabled ? 'disabled' : ok ? 'no_password' : 'wrong_password',
          userId: user?.id ?? null
        }, request)
        throw new errors.GK_INVALID_CREDENTIALS()
      }
      if (passwords.needsRehash(user.passwordHash)) {
        try {
          await gk.store.users.update(user.id, { passwordHash: await passwords.rehash(password) })
        } catch (err) {
          request.log.warn({ err, userId: user.id }, 'gatekeeper: could not upgrade a password hash')
        }
      }
      const pub = publicUser(user)
      for (const step of rt.loginSteps) {
        const pending = await step(pub, request, reply)
        if (pending !== null) {
          // The password alone settles nothing: the attempt counts for nothing until the next step's verdict.
          for (const g of rt.guards.slice(0, admitted)) await g.onError?.(request, attempt, null)
          admitted = 0
          reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
          return pending
        }
      }
      verdict = true
      return await completeLogin(rt, pub, request, reply, { method: 'password' }, { amr: ['pwd'] })
    } catch (err) {
      // No verdict on the credential (the store failed, a later guard refused): the attempt counts for nothing.
      if (!verdict) for (const g of rt.guards.slice(0, admitted)) await g.onError?.(request, attempt, err)
      throw err
    }
  })

  // Checked before the body is read, so a cross-site form gets the same 403 whatever its media type.
  function logoutCsrf (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
    try {
      // A cross-site page must not sign anybody out: refused whether or not cookies came
      // with it (SameSite=Strict keeps them off a cross-site form POST, which would
      // otherwise pass and clear them all, leaving the server-side session alive).
      if (cookieName !== null) rt.csrf.origin(request)
      // A cookie-carried logout is a state change a cross-site page must not trigger.
      if (request.headers.authorization === undefined && request.headers.cookie !== undefined) rt.csrf.full(request)
      done()
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)))
    }
  }

  app.post(routes.logout, { bodyLimit: BODY_LIMIT, onRequest: logoutCsrf, schema: withResponses({}, csrf403), config: { auth: false } }, async function logout (request, reply) {
    const hadCookie = cookieName !== null && request.headers.cookie !== undefined && app.parseCookie(request.headers.cookie)[cookieName] !== undefined
    let subject: string | null = null
    try {
      const ctx = await rt.strategy.authenticate(request, reply)
      if (ctx !== null) {
        request.auth = ctx
        subject = ctx.subject
      }
    } catch {
      // An expired or broken access token must not stop anyone from logging out.
    }
    for (const ext of rt.logoutExtensions) await ext(request, reply)
    // A logout that ends nothing clears nothing.
    if (hadCookie && cookieName !== null) reply.clearCookie(cookieName, COOKIE_ATTRIBUTES)
    gk.record({ type: 'logout', outcome: 'success', subject }, request)
    reply.header('cache-control', 'no-store').code(204).send()
  })

  if (routes.register !== null) {
    const fields = {
      username: { minLength: 1, maxLength: MAX_USERNAME_LENGTH, name: true },
      password: { minLength: 1, maxLength: maxPassword },
      email: { minLength: 1, maxLength: MAX_EMAIL_LENGTH, optional: true }
    }
    app.post<{ Body: { username: string, password: string, email?: string } }>(routes.register, { ...bodyRoute(fields, [...csrf403, 409]), config: { auth: false } }, async function register (request, reply) {
      if (cookieName !== null) rt.csrf.origin(request)
      const { username, password, email } = request.body
      // A username that is an address is the account's email too, unless another one is given.
      const address = email ?? (isValidEmail(username) ? username : undefined)
      const user = await users.create({ username, password, roles: [...options.defaultRoles], ...(address === undefined ? {} : { email: address }) }, request)
      for (const ext of rt.registerExtensions) await ext(user, request, reply)
      reply.code(201)
      return { id: user.id, username: user.username, roles: user.roles }
    })
  }

  if (routes.password !== null) {
    const fields = {
      currentPassword: { minLength: 1, maxLength: maxPassword },
      newPassword: { minLength: 1, maxLength: maxPassword }
    }
    app.post<{ Body: { currentPassword: string, newPassword: string } }>(routes.password, { ...bodyRoute(fields, []), config: { auth: { strategies: ['jwt'], kind: 'user' } } }, async function changePassword (request, reply) {
      const { currentPassword, newPassword } = request.body
      const auth = request.auth
      if (auth === null || auth.kind !== 'user') {
        reply.header('www-authenticate', gk.challengeFor(auth, 'insufficient_scope'))
        throw new errors.GK_FORBIDDEN()
      }
      await users.changePassword(auth.subject, currentPassword, newPassword, request)
      reply.header('cache-control', 'no-store').code(204).send()
    })
  }
}
