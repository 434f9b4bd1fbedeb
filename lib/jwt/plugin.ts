import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../core/errors.js'
import { declareService } from '../core/services.js'
import { normalizeLogin } from '../stores/types.js'
import type { AuthContext, Strategy } from '../core/types.js'
import '../core/augment.js'
import { boundKeyOf, dpopCredential, refuseDowngrade } from '../dpop/bound.js'
import { assertB64Token, bearerCredential } from './bearer.js'
import { createCsrfChecks } from './csrf.js'
import { toJwks } from './jwks.js'
import { normalizeOptions, type JwtOptions } from './options.js'
import { Passwords } from './passwords.js'
import { completeLogin, registerRoutes, setAccessCookie, type JwtRuntime } from './routes.js'
import { TokenService } from './tokens.js'
import type { GuardedAttempt, JwtApi, LoginExtension, LoginGuard, LoginStep, LogoutExtension, PasswordApi, RegisterExtension, RoleFilter, SessionsEnded, TokenSubject, UserApi } from './types.js'
import { UserCheck } from './user-check.js'
import { Users } from './users.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** Hooks of the jwt plugin (login guards and extensions, CSRF check); present once the jwt plugin is registered (typed like `app.jwt` of @fastify/jwt: importing the plugin declares it). */
    readonly jwt: JwtApi
    /** Access tokens: `issue(user)`, `verify(token)`; set when the jwt plugin is registered. */
    readonly tokens: TokenService
    /** Accounts: `create`, `setRoles`, `changePassword`, `disable`; set when the jwt plugin is registered. */
    readonly users: UserApi
    /** argon2id passwords: `hash`, `verify`, `check`; set when the jwt plugin is registered. */
    readonly passwords: PasswordApi
  }
}

declareService('jwt', 'jwt')
declareService('tokens', 'jwt')
declareService('users', 'jwt')
declareService('passwords', 'jwt')

/** The Authorization schemes the jwt strategy reads once the dpop plugin is registered. */
const DPOP_SCHEMES = Object.freeze(['Bearer', 'DPoP'])

/** The path of the JWK Set (RFC 8615 well-known URI). */
export const JWKS_PATH = '/.well-known/jwks.json'
/**
 * How long verifiers may cache the JWK Set (`Cache-Control: max-age`, seconds).
 * A key rotation waits longer than this between publishing a key and signing with it.
 */
export const JWKS_MAX_AGE = 300

async function jwtPlugin (app: FastifyInstance, opts: JwtOptions): Promise<void> {
  requirePlugins(app, 'jwt', ['gatekeeper'])
  const options = normalizeOptions(opts)
  const gk = app.gatekeeper
  const passwords = new Passwords(options.password)
  // Made at start-up, so the first login of an unknown name costs what every other does.
  await passwords.dummyHash()
  const roleFilters: RoleFilter[] = []
  const rolesOf = (user: TokenSubject): readonly string[] => roleFilters.reduce<readonly string[]>((roles, filter) => filter(user, roles), user.roles)
  const tokens = new TokenService({
    keys: options.keys,
    issuer: options.issuer,
    audience: options.audience,
    clientId: options.clientId,
    ttlMs: options.ttlMs,
    toleranceMs: options.toleranceMs,
    now: gk.now,
    permissionsOf: (roles) => gk.permissionsOf(roles),
    ...(options.claims === undefined ? {} : { claims: options.claims }),
    rolesOf,
    cacheMax: options.cacheSize
  })
  const userCheck = options.checkUser === null ? null : new UserCheck(gk, options.checkUser.cacheTtlMs, options.clientId, rolesOf)
  /** Sessions ended here: forgotten at once, and told to the other instances over the Redis bus. */
  function endSessions (ended: SessionsEnded): void {
    if (userCheck === null) return
    userCheck.forgetSessions(ended)
    const bus = gk.has('redis') ? gk.redis.bus : undefined
    if (bus === undefined) return
    const revocation = 'sessionId' in ended ? { kind: 'session' as const, id: ended.sessionId } : { kind: 'user-sessions' as const, id: ended.userId }
    bus.publish(revocation).catch(() => {})
  }
  const guards: LoginGuard[] = []
  const users = new Users(gk, passwords, { changed: (id) => userCheck?.forget(id), sessionsEnded: (id) => { endSessions({ userId: id }) }, guards })
  const csrf = createCsrfChecks(options.csrf)
  const cookieName = options.cookieName
  if (cookieName !== null && !app.hasDecorator('parseCookie')) await app.register(cookie)

  function cookieToken (request: FastifyRequest): string | null {
    const raw = request.headers.cookie
    if (cookieName === null || raw === undefined) return null
    const value = app.parseCookie(raw)[cookieName]
    return value === undefined || value === '' ? null : value
  }

  const strategy: Strategy = {
    name: 'jwt',
    scheme: 'Bearer',
    // With the dpop plugin, `Authorization: DPoP <token>` too (RFC 9449 §7.1).
    get schemes () { return gk.has('dpop') ? DPOP_SCHEMES : undefined },
    // A token's permissions are those the permission model grants its roles.
    ownPermissions: false,
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      ...(options.cookieName === null ? {} : { cookieAuth: { type: 'apiKey', in: 'cookie', name: options.cookieName } })
    },
    // Synchronous: a cached token (and, with checkUser, a cached user) is answered without a promise or a tick.
    authenticate (request, reply): AuthContext | null | Promise<AuthContext | null> {
      const dpop = gk.has('dpop') ? gk.dpop : undefined
      const dpopToken = dpop === undefined ? null : dpopCredential(request.headers.authorization)
      if (dpop !== undefined && dpopToken !== null) {
        const bound = fromHeaderToken(dpopToken)
        if (bound === null) return null
        const proven = dpop.authenticate(request, reply, dpopToken, bound)
        return userCheck === null ? proven : proven.then(async (ctx) => await userCheck.check(ctx))
      }
      const ctx = fromToken(request)
      // RFC 9449 §7.1: a token bound to a key is refused without the proof that goes with it.
      if (ctx !== null && boundKeyOf(ctx.claims) !== undefined) refuseDowngrade(gk, request, ctx)
      return ctx === null || userCheck === null ? ctx : userCheck.check(ctx)
    }
  }
  gk.registerStrategy(strategy)

  /** The caller of a token from the Authorization header; `null` when it is another strategy's. */
  function fromHeaderToken (token: string): AuthContext | null {
    // A cached token is byte-identical to one that passed every check, its syntax included.
    const hit = tokens.cached(token)
    if (hit !== null) return hit
    assertB64Token(token)
    // A JWS compact token always has dots; a Bearer value without any (an API key), or a JWT of
    // another issuer (the resourceServer strategy's), is another strategy's.
    if (!token.includes('.') || tokens.isForeign(token)) return null
    return tokens.verifyFresh(token)
  }

  function fromToken (request: FastifyRequest): AuthContext | null {
    const fromHeader = bearerCredential(request.headers.authorization)
    const fromCookie = cookieToken(request)
    if (fromHeader !== null) {
      // Two different credentials: refuse rather than guess which one the caller meant.
      if (fromCookie !== null && fromCookie !== fromHeader) throw new errors.GK_INVALID_REQUEST('a token was sent in both the Authorization header and the cookie')
      return fromHeaderToken(fromHeader)
    }
    if (fromCookie === null) return null
    const ctx = tokens.authenticate(fromCookie)
    // The browser attaches the cookie to cross-site requests on its own: unsafe ones need the CSRF defence.
    csrf.full(request)
    return ctx
  }

  const loginExtensions: LoginExtension[] = []
  const loginSteps: LoginStep[] = []
  const logoutExtensions: LogoutExtension[] = []
  const registerExtensions: RegisterExtension[] = []
  const api: JwtApi = {
    addLoginGuard (guard) {
      if (guard === null || typeof guard !== 'object') throw new errors.GK_CONFIG('addLoginGuard takes { before?, onFailure?, onSuccess? }')
      guards.push(guard)
    },
    addLoginExtension (ext) {
      if (typeof ext !== 'function') throw new errors.GK_CONFIG('addLoginExtension takes a function (user, request, reply) => fields')
      loginExtensions.push(ext)
    },
    addLoginStep (step) {
      if (typeof step !== 'function') throw new errors.GK_CONFIG('addLoginStep takes a function (user, request, reply) => body | null')
      loginSteps.push(step)
    },
    async guardAttempt (request, user): Promise<GuardedAttempt> {
      const attempt = { username: user.username, login: normalizeLogin(user.username) }
      let admitted = 0
      try {
        for (const g of guards) {
          await g.before?.(request, attempt)
          admitted++
        }
      } catch (err) {
        for (const g of guards.slice(0, admitted)) await g.onError?.(request, attempt, err)
        throw err
      }
      let settled = false
      const settle = async (fn: (g: LoginGuard) => Promise<void> | void | undefined): Promise<void> => {
        if (settled) return
        settled = true
        for (const g of guards.slice(0, admitted)) await fn(g)
      }
      return {
        failure: async () => { await settle((g) => g.onFailure?.(request, attempt, user)) },
        success: async () => { await settle((g) => g.onSuccess?.(request, user)) },
        release: async (error?: unknown) => { await settle((g) => g.onError?.(request, attempt, error)) }
      }
    },
    addLogoutExtension (ext) {
      if (typeof ext !== 'function') throw new errors.GK_CONFIG('addLogoutExtension takes a function (request, reply) => void')
      logoutExtensions.push(ext)
    },
    addRegisterExtension (ext) {
      if (typeof ext !== 'function') throw new errors.GK_CONFIG('addRegisterExtension takes a function (user, request, reply) => void')
      registerExtensions.push(ext)
    },
    addRoleFilter (filter) {
      if (typeof filter !== 'function') throw new errors.GK_CONFIG('addRoleFilter takes a function (user, roles) => roles')
      roleFilters.push(filter)
    },
    forgetUser (userId) {
      userCheck?.forget(userId)
    },
    checkCsrf: csrf.full,
    checkOrigin: csrf.origin,
    setAccessCookie: (reply, issued) => { setAccessCookie(options.cookieName, reply, issued) },
    cookieName,
    issuer: options.issuer,
    jwksPath: options.asymmetric ? JWKS_PATH : null,
    checkUser: userCheck !== null,
    completeLogin: async (user, request, reply, details, authentication) => await completeLogin(runtime, user, request, reply, details, authentication),
    endSessions,
    forgetSessions (ended) { userCheck?.forgetSessions(ended) }
  }
  gk.provide('jwt', api)
  gk.provide('tokens', tokens)
  gk.provide('users', users)
  gk.provide('passwords', passwords)

  const runtime: JwtRuntime = { gk, options, passwords, tokens, users, csrf, strategy, guards, loginExtensions, loginSteps, logoutExtensions, registerExtensions }
  registerRoutes(app, runtime)

  if (options.asymmetric) {
    const jwks = JSON.stringify(toJwks(options.keys))
    app.get(JWKS_PATH, { config: { auth: false } }, async (_request, reply) => {
      reply.type('application/jwk-set+json').header('cache-control', `public, max-age=${JWKS_MAX_AGE}`)
      return jwks
    })
  }
}

/**
 * The `jwt` plugin: argon2id password login, short-lived access tokens
 * (header or HttpOnly cookie), asymmetric keys with a JWK Set, and the `jwt`
 * strategy. Register it after the core `gatekeeper` plugin.
 */
export const jwt = fp(jwtPlugin, { fastify: '5.x', name: 'gatekeeper-jwt' })

export type { JwtOptions }
