import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import '../core/augment.js'
import { configError } from '../core/errors.js'
import { declareService } from '../core/services.js'
import { clearCookies, cookiePaths, readCookie, REFRESH_COOKIE, setCookies } from './cookies.js'
import { parseOptions, type RefreshOptions, type RefreshTransport } from './options.js'
import { Purger } from './purge.js'
import { Rotation, type ClientInfo } from './rotation.js'
import { registerRefreshRoutes, type RefreshRuntime } from './routes.js'
import { listSessions, revokeSession, type SessionView } from './sessions.js'
import { hashToken, isTokenFormat } from './token.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'
import { isRecord } from '../core/json.js'

/** A session just opened, as {@link RefreshApi.start} returns it. */
export interface OpenedSession {
  /** The first refresh token: hand it to the client, never log or store it. */
  refreshToken: string
  /** The session (family) id. */
  sessionId: string
  /** Seconds until the token expires unless used. */
  expiresIn: number
}

/** `app.gatekeeper.refresh`: sessions and refresh tokens. */
export interface RefreshApi {
  /** Where refresh tokens travel. */
  readonly transport: RefreshTransport
  /** Opens a session for `userId` (a login); the jwt login route does it through a login extension. */
  start (userId: string, request?: FastifyRequest): Promise<OpenedSession>
  /** The active sessions of a user, newest first; `currentId` flags one. */
  sessions (userId: string, currentId?: string | null): Promise<SessionView[]>
  /** Revokes one active session of `userId`; `false` when it has no such session. */
  revokeSession (userId: string, sessionId: string, request?: FastifyRequest): Promise<boolean>
  /** Revokes every session of a user (logout everywhere); returns how many. */
  revokeAll (userId: string, reason?: string, request?: FastifyRequest): Promise<number>
  /** Deletes expired tokens and sessions now; resolves to the number of tokens deleted. */
  purge (): Promise<number>
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** Sessions and refresh tokens; set when the refresh plugin is registered. */
    readonly refresh: RefreshApi
  }
}

declareService('refresh', 'refresh')

function clientOf (request: FastifyRequest | undefined): ClientInfo {
  if (request === undefined) return { ip: null, userAgent: null }
  const ua = request.headers['user-agent']
  return { ip: request.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 256) : null }
}

async function refreshPlugin (app: FastifyInstance, opts: RefreshOptions): Promise<void> {
  requirePlugins(app, 'refresh', ['gatekeeper', 'gatekeeper-jwt'])
  const gk = app.gatekeeper
  const jwtApi = gk.jwt
  const tokenApi = gk.tokens
  if (jwtApi === undefined || tokenApi === undefined) configError('the refresh plugin needs the jwt plugin: register jwt before refresh')
  if (gk.has('refresh')) configError('the refresh plugin is registered twice')
  const o = parseOptions(opts ?? {}, jwtApi.cookieName !== null)
  const usesCookie = o.transport !== 'body'
  const usesBody = o.transport !== 'cookie'
  if (usesCookie && !app.hasDecorator('parseCookie')) await app.register(cookie)
  const paths = cookiePaths(o.routes)
  const store = gk.store.refreshTokens

  const rotation = new Rotation({
    tokens: store,
    users: gk.store.users,
    now: gk.now,
    ttlMs: o.ttlMs,
    idleMs: o.idleMs,
    graceMs: o.graceMs,
    successorKey: o.successorKey,
    // With checkUser, the access token names its session, so it stops working when the session ends.
    issueAccess: (user, family, jkt) => tokenApi.issue(user, {
      ...(jwtApi.checkUser ? { sessionId: family.id } : {}),
      // The authentication of the session's login (or its last step-up), as RFC 8176 amr and OpenID auth_time.
      ...(family.amr == null ? {} : { amr: family.amr }),
      ...(family.authTime == null ? { authTime: family.createdAt.getTime() } : { authTime: family.authTime.getTime() }),
      ...(jkt === null ? {} : { jkt })
    })
  })
  const purger = new Purger(store, gk.now, app.log)

  /** Hands a refresh token to the client per the transport; returns the response fields. */
  function deliver (reply: FastifyReply, token: string, sessionId: string, expiresAt: Date): Record<string, unknown> {
    const expiresIn = Math.max(0, Math.floor((expiresAt.getTime() - gk.now()) / 1000))
    if (usesCookie) setCookies(reply, paths, token, sessionId, expiresIn)
    return usesBody
      ? { refreshToken: token, refreshExpiresIn: expiresIn, sessionId }
      : { refreshExpiresIn: expiresIn, sessionId }
  }

  const api: RefreshApi = {
    transport: o.transport,
    async start (userId, request) {
      const s = await rotation.start(userId, clientOf(request))
      return { refreshToken: s.refreshToken, sessionId: s.familyId, expiresIn: Math.max(0, Math.floor((s.expiresAt.getTime() - gk.now()) / 1000)) }
    },
    async sessions (userId, currentId = null) {
      return listSessions(store, userId, new Date(gk.now()), currentId)
    },
    async revokeSession (userId, sessionId, request) {
      const revoked = await revokeSession(store, userId, sessionId, new Date(gk.now()), 'session_revoked')
      if (revoked) {
        jwtApi.endSessions({ sessionId })
        gk.record({ type: 'session.revoked', outcome: 'success', subject: userId, userId, familyId: sessionId, reason: 'session_revoked' }, request)
      }
      return revoked
    },
    async revokeAll (userId, reason = 'logout_all', request) {
      const revoked = await store.revokeAllForUser(userId, new Date(gk.now()), reason)
      jwtApi.endSessions({ userId })
      return revoked
    },
    purge: () => purger.purge()
  }
  gk.provide('refresh', api)

  jwtApi.addLoginExtension(async (user, request, reply, authentication) => {
    // A login with a DPoP proof opens a session bound to that key (RFC 9449 §5).
    const s = await rotation.start(user.id, clientOf(request), authentication, (gk.has('dpop') ? await gk.dpop.bind(request, reply) : null))
    return deliver(reply, s.refreshToken, s.familyId, s.expiresAt)
  })

  // POST /api/logout belongs to the jwt plugin; this ends the session it was called from.
  jwtApi.addLogoutExtension(async (request, reply) => {
    // Refused from another site whether or not the cookie came along (the jwt
    // route checks this too when the access token is in a cookie).
    if (usesCookie) jwtApi.checkOrigin(request)
    let presented: unknown = null
    const body = request.body
    const cookie = usesCookie ? readCookie(request, REFRESH_COOKIE) : null
    if (usesBody && isRecord(body) && typeof body.refreshToken === 'string') presented = body.refreshToken
    else presented = cookie
    // A logout that ends nothing clears nothing: only a request that brought the cookie has one to clear.
    if (cookie !== null) clearCookies(reply, paths)
    let session: { familyId: string, userId: string } | null = null
    if (isTokenFormat(presented)) {
      const token = await store.findByHash(hashToken(presented))
      // An access token of one user never ends another user's session.
      if (token === null || (request.auth !== null && request.auth.subject !== token.userId)) return
      session = token
    } else {
      // No refresh token: the session the access token was issued for (its sid, with checkUser), if it is the caller's.
      const sid = request.auth?.claims?.sid
      if (request.auth === null || request.auth.kind !== 'user' || typeof sid !== 'string') return
      const family = await store.findFamily(sid)
      if (family === null || family.userId !== request.auth.subject) return
      session = { familyId: family.id, userId: family.userId }
    }
    if (await store.revokeFamily(session.familyId, new Date(gk.now()), 'logout')) {
      if (usesCookie && cookie === null) clearCookies(reply, paths)
      jwtApi.endSessions({ sessionId: session.familyId })
      gk.record({ type: 'session.revoked', outcome: 'success', subject: session.userId, userId: session.userId, familyId: session.familyId, reason: 'logout' }, request)
    }
  })

  const runtime: RefreshRuntime = { gk, options: o, rotation, api, paths, usesBody, usesCookie, checkCsrf: jwtApi.checkCsrf, checkOrigin: jwtApi.checkOrigin, setAccessCookie: jwtApi.setAccessCookie, deliver }
  await app.register(registerRefreshRoutes, runtime)

  if (o.purgeMs !== null) {
    const interval = o.purgeMs
    app.addHook('onReady', async () => { purger.start(interval) })
  }
  app.addHook('onClose', async () => { purger.stop() })
}

/**
 * The `refresh` plugin: opaque rotating refresh tokens stored as SHA-256,
 * one family per login, reuse detection, exactly-once rotation, sessions
 * and logout everywhere. Register it after `gatekeeper` and `jwt`.
 */
export const refresh = fp(refreshPlugin, { fastify: '5.x', name: 'gatekeeper-refresh' })

export type { RefreshOptions, RefreshTransport }
