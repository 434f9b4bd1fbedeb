import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { refresh, type RefreshOptions } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

export const JWT_SECRET = 'jwt-secret-jwt-secret-jwt-secret'
export const REFRESH_SECRET = 'refresh-secret-refresh-secret-refresh'
export const PASSWORD = 'correct horse battery staple'
export const CSRF = { 'x-gk-csrf': '1' }

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

export interface AppOptions {
  refresh?: RefreshOptions
  jwt?: Partial<JwtOptions>
  core?: Partial<GatekeeperOptions>
  store?: GatekeeperStore
  clock?: Clock
  /** Runs before the app is ready (to add strategies or routes). */
  setup?: (app: FastifyInstance) => void | Promise<void>
}

/** Core (settable clock) + jwt + refresh, and `GET /me` echoing the caller. */
export async function refreshApp (o: AppOptions = {}): Promise<{ app: FastifyInstance, clock: Clock, store: GatekeeperStore }> {
  const clock = o.clock ?? { now: Date.UTC(2030, 0, 1) }
  const store = o.store ?? memoryStore()
  const app = Fastify()
  await app.register(gatekeeper, { store, now: () => clock.now, audit: { log: false }, ...o.core })
  await app.register(jwt, { secret: JWT_SECRET, issuer: 'https://issuer.test', audience: 'api.test', ...o.jwt } as JwtOptions)
  await app.register(refresh, o.refresh ?? {})
  app.get('/me', async (req) => ({ subject: req.auth?.subject }))
  await o.setup?.(app)
  await app.ready()
  return { app, clock, store }
}

let passwordHash: Promise<string> | null = null

/**
 * Creates a user whose password is {@link PASSWORD}; returns its id. The
 * argon2id hash is made once per test file and stored directly: the tests
 * here are about sessions, not password hashing.
 */
export async function createUser (app: FastifyInstance, username = 'alice', roles = ['user']): Promise<string> {
  passwordHash ??= app.gatekeeper.passwords!.hash(PASSWORD)
  return (await app.gatekeeper.store.users.create({ username, passwordHash: await passwordHash, roles })).id
}

/** Logs in; returns the JSON body and the response. */
export async function login (app: FastifyInstance, username = 'alice', headers: Record<string, string> = {}): Promise<{ body: Record<string, any>, res: LightMyRequestResponse }> {
  const res = await app.inject({ method: 'POST', url: '/api/login', headers, payload: { username, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return { body: res.json(), res }
}

/** POSTs a refresh token in the body. */
export function refreshWith (app: FastifyInstance, token: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/token/refresh', headers, payload: { refreshToken: token } })
}

/** The Set-Cookie headers of a response, as an array. */
export function setCookies (res: LightMyRequestResponse): string[] {
  const h = res.headers['set-cookie']
  return h === undefined ? [] : Array.isArray(h) ? h : [h]
}

/** The value of a cookie set on `path`, or undefined. */
export function cookieValue (res: LightMyRequestResponse, name: string, path: string): string | undefined {
  for (const c of res.cookies as Array<{ name: string, value: string, path?: string }>) {
    if (c.name === name && c.path === path) return c.value
  }
  return undefined
}
