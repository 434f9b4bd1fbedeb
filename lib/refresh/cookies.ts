import type { FastifyReply, FastifyRequest } from 'fastify'

/** The refresh-token cookie. `__Secure-`: browsers accept it only with `Secure` (RFC 6265bis §4.1.3.1). */
export const REFRESH_COOKIE = '__Secure-gk_refresh'
/**
 * The session-id cookie: the family id, not a secret (it lets nobody in),
 * scoped to the sessions route so the session list can flag the current one.
 */
export const SESSION_COOKIE = '__Secure-gk_session'

/** The attributes shared by both cookies. */
export const COOKIE_ATTRIBUTES = Object.freeze({ httpOnly: true, secure: true, sameSite: 'strict' as const })

/** Where the cookies go. */
export interface CookiePaths {
  /** The refresh token travels only to these paths: the refresh route, and the logout route so a browser can end its session. */
  readonly token: readonly string[]
  /** The session-id cookie's path (the sessions route), or `null`. */
  readonly session: string | null
}

/** The cookie paths for the configured routes. */
export function cookiePaths (routes: { refresh: string, logout: string, sessions: string | false }): CookiePaths {
  return Object.freeze({
    token: Object.freeze([...new Set([routes.refresh, routes.logout])]),
    session: routes.sessions === false ? null : routes.sessions
  })
}

/** Sets the refresh-token and session-id cookies; they live as long as the token. */
export function setCookies (reply: FastifyReply, paths: CookiePaths, token: string, sessionId: string, maxAgeSeconds: number): void {
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds))
  for (const path of paths.token) reply.setCookie(REFRESH_COOKIE, token, { ...COOKIE_ATTRIBUTES, path, maxAge })
  if (paths.session !== null) reply.setCookie(SESSION_COOKIE, sessionId, { ...COOKIE_ATTRIBUTES, path: paths.session, maxAge })
}

/** Clears both cookies at every path they were set on. */
export function clearCookies (reply: FastifyReply, paths: CookiePaths): void {
  for (const path of paths.token) reply.clearCookie(REFRESH_COOKIE, { ...COOKIE_ATTRIBUTES, path })
  if (paths.session !== null) reply.clearCookie(SESSION_COOKIE, { ...COOKIE_ATTRIBUTES, path: paths.session })
}

/**
 * The value of a cookie of the request, or `null`. Parses the header itself,
 * so it works whatever the order in which the cookie plugin's hook was added.
 */
export function readCookie (request: FastifyRequest, name: string): string | null {
  const raw = request.headers.cookie
  if (typeof raw !== 'string' || raw.length === 0) return null
  const value = request.server.parseCookie(raw)[name]
  return typeof value === 'string' && value.length > 0 ? value : null
}
