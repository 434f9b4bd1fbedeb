import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { errors } from '../../lib/core/errors.js'
import type { AuditEvent, AuthContext, GatekeeperOptions } from '../../lib/core/types.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { versioning } from '../../lib/versioning/plugin.js'
import type { VersioningOptions } from '../../lib/versioning/options.js'

/** 2026-06-01T00:00:00Z, v1's deprecation in the standard configuration. */
export const DEPRECATED = Date.UTC(2026, 5, 1)
/** 2027-06-01T00:00:00Z, v1's sunset. */
export const SUNSET = Date.UTC(2027, 5, 1)

/** The configuration of the issue: v1 deprecated with a sunset, apiKey or jwt; v2 current, jwt only. */
export const STANDARD: VersioningOptions = {
  prefix: '/api',
  versions: {
    v1: { deprecated: '2026-06-01', sunset: '2027-06-01', successor: 'v2', auth: ['apiKey', 'jwt'] },
    v2: { auth: ['jwt'] }
  }
}

/** The part of a tap test that closes an app. */
export interface Teardown {
  teardown (fn: () => unknown): void
}

export interface TestApp {
  app: FastifyInstance
  /** The injected clock; set `clock.now`. */
  clock: { now: number }
  /** How many times a strategy's authenticate ran. */
  calls: { jwt: number, apiKey: number }
  /** Audit events recorded so far. */
  events: AuditEvent[]
}

function user (subject: string, strategy: string, kind: AuthContext['kind']): AuthContext {
  return { strategy, kind, subject, roles: ['user'], permissions: ['posts:read'] }
}

/**
 * A core with a memory store, a settable clock and two fake strategies:
 * `Authorization: Bearer good|<name>` (jwt) and `x-api-key: key-<name>` (apiKey);
 * `Bearer bad` and `x-api-key: bad` are present-but-invalid credentials.
 */
export async function build (opts: {
  versioning?: VersioningOptions | false
  core?: Partial<GatekeeperOptions>
  before?: (app: FastifyInstance) => void | Promise<void>
  now?: number
  fastify?: FastifyServerOptions
} = {}): Promise<TestApp> {
  const clock = { now: opts.now ?? Date.UTC(2026, 0, 1) }
  const calls = { jwt: 0, apiKey: 0 }
  const events: AuditEvent[] = []
  const app = Fastify(opts.fastify)
  await opts.before?.(app)
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, audit: { log: false }, ...opts.core })
  app.gatekeeper.on('audit', (e: AuditEvent) => { events.push(e) })
  app.gatekeeper.registerStrategy({
    name: 'jwt',
    scheme: 'Bearer',
    authenticate (request: FastifyRequest) {
      calls.jwt++
      const h = request.headers.authorization
      if (h === undefined || !h.startsWith('Bearer ')) return null
      const token = h.slice(7)
      if (token === 'bad') throw new errors.GK_TOKEN_INVALID()
      return user(token === 'good' ? 'alice' : token, 'jwt', 'user')
    }
  })
  app.gatekeeper.registerStrategy({
    name: 'apiKey',
    scheme: 'ApiKey',
    authenticate (request: FastifyRequest) {
      calls.apiKey++
      const key = request.headers['x-api-key']
      if (typeof key !== 'string') return null
      if (!key.startsWith('key-')) throw new errors.GK_TOKEN_INVALID()
      return user(key.slice(4), 'apiKey', 'application')
    }
  })
  if (opts.versioning !== false) await app.register(versioning, opts.versioning ?? STANDARD)
  return { app, clock, calls, events }
}

/** Lets onResponse hooks, which run after the response was delivered, finish. */
export function settle (): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export const BEARER = { authorization: 'Bearer good' }
export const API_KEY = { 'x-api-key': 'key-app1' }
