import Fastify, { type FastifyInstance } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { literalModel } from '../../lib/core/permissions.js'
import type { AuthContext } from '../../lib/core/types.js'
import { apiKey, type ApiKeyOptions } from '../../lib/api-key/plugin.js'
import type { ApiKeyService } from '../../lib/api-key/service.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

/** A clock tests move by hand. */
export interface Clock { now: number }

/** The role → permissions table of the tiny permission model the tests install. */
export const ROLES: Record<string, string[]> = {
  admin: ['*'],
  editor: ['posts:read', 'posts:write'],
  reader: ['posts:read'],
  keymaster: ['apikeys:manage']
}

export interface Harness {
  app: FastifyInstance
  store: GatekeeperStore
  keys: ApiKeyService
  clock: Clock
  events: Array<Record<string, unknown>>
  anomalies: Array<Record<string, unknown>>
  /** Creates a user and returns its id. */
  user (roles?: string[], username?: string): Promise<string>
}

/**
 * An app with the core, a memory store (or `store`), the apiKey plugin, a
 * tiny role model, and a fake `jwt` strategy: `Authorization: Bearer user:<id>`
 * authenticates the user `<id>` as a person.
 */
export async function harness (t: { teardown (fn: () => unknown): void }, opts: ApiKeyOptions = {}, store: GatekeeperStore = memoryStore(), setup?: (app: FastifyInstance) => void): Promise<Harness> {
  const clock: Clock = { now: Date.parse('2030-01-01T00:00:00Z') }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store, now: () => clock.now, audit: { log: false } })
  app.gatekeeper.setPermissionModel({
    permissionsOf: (roles) => roles.flatMap((r) => ROLES[r] ?? []),
    grants: literalModel.grants
  })
  const gk = app.gatekeeper
  gk.registerStrategy({
    name: 'jwt',
    scheme: 'Bearer',
    async authenticate (request): Promise<AuthContext | null> {
      const h = request.headers.authorization
      if (typeof h !== 'string' || !h.startsWith('Bearer user:')) return null
      const user = await gk.store.users.findById(h.slice('Bearer user:'.length))
      if (user === null) return null
      return { strategy: 'jwt', kind: 'user', subject: user.id, roles: user.roles, permissions: gk.permissionsOf(user.roles) }
    }
  })
  await app.register(apiKey, opts)
  setup?.(app)
  const events: Array<Record<string, unknown>> = []
  const anomalies: Array<Record<string, unknown>> = []
  gk.on('audit', (e) => { events.push(e) })
  gk.on('anomaly', (e) => { anomalies.push(e) })
  await app.ready()
  let n = 0
  return {
    app,
    store,
    keys: gk.apiKeys,
    clock,
    events,
    anomalies,
    async user (roles = ['editor'], username = `user${++n}`) {
      return (await store.users.create({ username, passwordHash: null, roles })).id
    }
  }
}

/** Wraps a store to count calls and see every argument passed in. */
export function spyStore (inner: GatekeeperStore): { store: GatekeeperStore, calls: Array<{ method: string, args: unknown[] }> } {
  const calls: Array<{ method: string, args: unknown[] }> = []
  const wrap = <T extends object>(repo: T, name: string): T => new Proxy(repo, {
    get (target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (typeof v !== 'function') return v
      return (...args: unknown[]) => {
        calls.push({ method: `${name}.${String(prop)}`, args })
        return (v as (...a: unknown[]) => unknown).apply(target, args)
      }
    }
  })
  return {
    calls,
    store: {
      users: wrap(inner.users, 'users'),
      apiKeys: wrap(inner.apiKeys, 'apiKeys'),
      refreshTokens: inner.refreshTokens,
      close: () => inner.close()
    }
  }
}
