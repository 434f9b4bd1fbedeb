/**
 * `fastify-gatekeeper/testing`: helpers for your own tests, so a route can be
 * exercised without a login dance. They use the same code paths as
 * production (real tokens, real keys), never a bypass.
 */
import type { FastifyInstance } from 'fastify'
import '../core/augment.js'
import type { RouteProtection } from '../core/types.js'
import type {} from '../api-key/plugin.js'
import type {} from '../jwt/plugin.js'

/** What {@link createTestTokens} returns. */
export interface TestTokens {
  /** The signed access token. */
  accessToken: string
  /** `Bearer <token>`, ready for an `authorization` header. */
  authorization: string
  /** `{ authorization }`, ready to spread into `app.inject({ headers })`. */
  headers: { authorization: string }
}

/** What {@link createTestApiKey} returns. */
export interface TestApiKey {
  key: string
  keyId: string
  ownerId: string
  /** `{ [header]: key }`, ready for `app.inject({ headers })`. */
  headers: Record<string, string>
}

/**
 * Signs an access token for `sub` with `roles` (the jwt plugin must be
 * registered). The user need not exist in the store: the jwt strategy trusts
 * its own signature, exactly as in production. With the jwt plugin's
 * `checkUser`, which asks the store, a missing user is created with `roles`
 * (its password is unusable: it can never log in; it counts as having a
 * verified email, so the `accounts` plugin's `requireVerifiedEmail` does not
 * narrow its roles); an existing user keeps the roles the store gives it,
 * and those are the ones requests get.
 */
export async function createTestTokens (app: FastifyInstance, user: { sub: string, roles?: string[] }): Promise<TestTokens> {
  await app.ready()
  if (!app.gatekeeper.has('tokens')) throw new Error('createTestTokens needs the jwt plugin registered')
  const tokens = app.gatekeeper.tokens
  const users = app.gatekeeper.store.users
  if (app.gatekeeper.jwt.checkUser && await users.findById(user.sub) === null) {
    await users.create({ id: user.sub, username: `test-user-${user.sub}`, passwordHash: null, roles: user.roles ?? [], emailVerifiedAt: new Date(app.gatekeeper.now()) })
  }
  const { accessToken } = await tokens.issue({ id: user.sub, roles: user.roles ?? [] })
  const authorization = `Bearer ${accessToken}`
  return { accessToken, authorization, headers: { authorization } }
}

/**
 * Creates a real API key for `ownerId` (the apiKey plugin must be
 * registered). The owner is created in the store with `roles` when it does not
 * exist yet (its password is unusable: it can never log in).
 */
export async function createTestApiKey (
  app: FastifyInstance,
  input: { ownerId: string, scopes?: string[], roles?: string[], name?: string, header?: string }
): Promise<TestApiKey> {
  await app.ready()
  if (!app.gatekeeper.has('apiKeys')) throw new Error('createTestApiKey needs the apiKey plugin registered')
  const apiKeys = app.gatekeeper.apiKeys
  const users = app.gatekeeper.store.users
  if (await users.findById(input.ownerId) === null) {
    await users.create({ id: input.ownerId, username: `test-owner-${input.ownerId}`, passwordHash: null, roles: input.roles ?? [] })
  }
  const { key, record } = await apiKeys.create({ ownerId: input.ownerId, name: input.name ?? 'test key', scopes: input.scopes ?? [] })
  return { key, keyId: record.id, ownerId: input.ownerId, headers: { [input.header ?? 'x-api-key']: key } }
}

/** Options of {@link assertAllRoutesProtected}. */
export interface AssertProtectedOptions {
  /** Routes allowed to be public, as `'GET /health'` or just `'/health'` (any method). */
  allowPublic?: string[]
  /** Also call every protected route without credentials and expect 401 (default `true`). */
  request?: boolean
}

function fillParams (url: string): string {
  return url.replace(/:[A-Za-z0-9_]+(\([^)]*\))?/g, 'test').replace(/\*/g, 'test')
}

/**
 * Throws an `Error` listing every route registered before the gatekeeper
 * plugin (the core could not check it), every route that is public without
 * being on the allow list and, with `request: true`, every protected route that did not
 * answer 401 to a request without credentials (410 counts as refused too: a
 * sunset API version). Returns the route table when all is well.
 */
export async function assertAllRoutesProtected (app: FastifyInstance, opts: AssertProtectedOptions = {}): Promise<RouteProtection[]> {
  await app.ready()
  const allowed = new Set(opts.allowPublic ?? [])
  const routes = app.gatekeeper.routes()
  const problems: string[] = []
  for (const r of routes) {
    if (r.method === 'OPTIONS') continue
    const name = `${r.method} ${r.url}`
    if (r.early) {
      problems.push(`${name} was registered before the gatekeeper plugin: its config.auth could not be checked at start-up (register gatekeeper first)`)
      continue
    }
    if (r.public) {
      if (!allowed.has(name) && !allowed.has(r.url)) problems.push(`${name} is public`)
      continue
    }
    if (r.optional) {
      if (!allowed.has(name) && !allowed.has(r.url)) problems.push(`${name} lets anonymous callers in (optional auth)`)
      continue
    }
    if (opts.request === false) continue
    const res = await app.inject({ method: r.method as 'GET', url: fillParams(r.url) })
    if (res.statusCode !== 401 && res.statusCode !== 410) problems.push(`${name} answered ${res.statusCode} without credentials`)
  }
  if (problems.length > 0) throw new Error(`unprotected routes:\n  ${problems.join('\n  ')}`)
  return routes
}
