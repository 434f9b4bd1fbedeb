import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t from 'tap'
import { apiKey } from '../../lib/api-key/plugin.js'
import { errors } from '../../lib/core/errors.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/plugin.js'
import { rbac } from '../../lib/rbac/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { UserRecord } from '../../lib/stores/types.js'
import { ROLES } from './app.js'

// The real strategies: access tokens from the jwt plugin, keys from the
// apiKey plugin, both resolving permissions through the role graph.

interface World {
  app: FastifyInstance
  clock: { now: number }
  alice: UserRecord
  bob: UserRecord
  posts: Map<string, string>
  bearer (user: UserRecord): Promise<Record<string, string>>
}

async function world (t: { teardown (fn: () => unknown): void }): Promise<World> {
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, audit: { log: false } })
  await app.register(jwt, { secret: 'x'.repeat(48), issuer: 'test', audience: 'api', routes: false })
  await app.register(apiKey, { routes: false })
  await app.register(rbac, { roles: ROLES })
  const store = app.gatekeeper.store
  const alice = await store.users.create({ username: 'alice', passwordHash: null, roles: ['user'] })
  const bob = await store.users.create({ username: 'bob', passwordHash: null, roles: ['user'] })
  const posts = new Map([['1', alice.id], ['2', bob.id]])
  const owner = (req: FastifyRequest) => {
    const id = posts.get((req.params as { id: string }).id)
    if (id === undefined) throw new errors.GK_NOT_FOUND('post')
    return id
  }
  app.get('/posts', { config: { auth: { permissions: ['posts:read'] } } }, async () => 'list')
  app.post('/posts', { config: { auth: { permissions: ['posts:create'] } } }, async () => 'created')
  app.put('/posts/:id', { config: { auth: { permissions: ['posts:update'], owner } } }, async () => 'updated')
  const tokens = app.gatekeeper.tokens
  if (tokens === undefined) throw new Error('jwt plugin not registered')
  return {
    app,
    clock,
    alice,
    bob,
    posts,
    bearer: async (user) => ({ authorization: `Bearer ${(await tokens.issue(user)).accessToken}` })
  }
}

t.test('with real access tokens, roles come from the signed token only', async (t) => {
  const w = await world(t)
  const alice = await w.bearer(w.alice)
  const rows: Array<[string, string, Record<string, string>, number]> = [
    ['PUT', '/posts/1', {}, 200],
    ['PUT', '/posts/2', {}, 403],
    ['PUT', '/posts/2', { 'x-role': 'admin', 'x-roles': 'admin' }, 403],
    ['PUT', '/posts/2?roles=admin', {}, 403],
    ['POST', '/posts', {}, 403],
    ['GET', '/posts', {}, 200]
  ]
  for (const [method, url, extra, status] of rows) {
    const res = await w.app.inject({ method: method as 'GET', url, headers: { ...alice, ...extra } })
    t.equal(res.statusCode, status, `${method} ${url} ${JSON.stringify(extra)}`)
  }
  const editor = await w.bearer({ ...w.alice, roles: ['editor'] })
  t.equal((await w.app.inject({ method: 'PUT', url: '/posts/2', headers: editor })).statusCode, 200)
})

t.test('users.setRoles holds within one access-token lifetime', async (t) => {
  const w = await world(t)
  const changes: AuditEvent[] = []
  w.app.gatekeeper.on('user.roles_changed', (e) => changes.push(e))
  const before = await w.bearer(w.alice)
  const users = w.app.gatekeeper.users
  if (users === undefined) throw new Error('jwt plugin not registered')
  const updated = await users.setRoles(w.alice.id, ['editor'])
  t.same(updated.roles, ['editor'])
  t.match(changes, [{ userId: w.alice.id, from: ['user'], to: ['editor'] }])

  t.equal((await w.app.inject({ method: 'PUT', url: '/posts/2', headers: before })).statusCode, 403, 'the old token keeps its roles')
  const after = await w.bearer({ ...w.alice, roles: updated.roles })
  t.equal((await w.app.inject({ method: 'PUT', url: '/posts/2', headers: after })).statusCode, 200, 'a new token carries the new roles')

  w.clock.now += 16 * 60_000
  const expired = await w.app.inject({ method: 'PUT', url: '/posts/1', headers: before })
  t.equal(expired.statusCode, 401, 'past the default 15-minute lifetime the old token is refused')
  t.equal(expired.json().code, 'GK_TOKEN_EXPIRED')
})

t.test('API keys get their scopes intersected with their owner\'s permissions', async (t) => {
  const w = await world(t)
  const keys = w.app.gatekeeper.apiKeys
  if (keys === undefined) throw new Error('apiKey plugin not registered')
  const admin = await w.app.gatekeeper.store.users.create({ username: 'root', passwordHash: null, roles: ['admin'] })
  const key = async (ownerId: string, scopes: string[]) => ({ 'x-api-key': (await keys.create({ ownerId, name: scopes.join(' ') || 'none', scopes })).key })
  const rows: Array<[string, string[], string, string, number]> = [
    [w.alice.id, ['posts:*'], 'GET', '/posts', 200],
    [w.alice.id, ['posts:*'], 'POST', '/posts', 403],
    [w.alice.id, ['posts:*'], 'PUT', '/posts/1', 200],
    [w.alice.id, ['posts:*'], 'PUT', '/posts/2', 403],
    [w.alice.id, ['posts:read'], 'PUT', '/posts/1', 403],
    [w.alice.id, [], 'GET', '/posts', 403],
    [admin.id, ['posts:read'], 'POST', '/posts', 403],
    [admin.id, ['posts:*'], 'POST', '/posts', 200],
    [admin.id, ['*'], 'PUT', '/posts/2', 200],
    [admin.id, ['posts:update:own'], 'PUT', '/posts/2', 403]
  ]
  for (const [owner, scopes, method, url, status] of rows) {
    const res = await w.app.inject({ method: method as 'GET', url, headers: await key(owner, scopes) })
    t.equal(res.statusCode, status, `${owner === admin.id ? 'admin' : 'alice'}'s key [${scopes.join(', ')}]: ${method} ${url}`)
  }
})
