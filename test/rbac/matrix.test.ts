import type { FastifyInstance, FastifyRequest } from 'fastify'
import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import { as, rbacApp } from './app.js'

// Post 1 is alice's, post 2 is bob's, post 9 does not exist.
const posts = new Map([['1', 'alice'], ['2', 'bob']])

function ownerOf (req: FastifyRequest): string {
  const owner = posts.get((req.params as { id: string }).id)
  if (owner === undefined) throw new errors.GK_NOT_FOUND('post')
  return owner
}

async function blogApp (): Promise<FastifyInstance> {
  const app = await rbacApp()
  const found = (req: FastifyRequest) => {
    if (!posts.has((req.params as { id: string }).id)) throw new errors.GK_NOT_FOUND('post')
    return { ok: true }
  }
  app.get('/posts', { config: { auth: { permissions: ['posts:read'] } } }, async () => ({ ok: true }))
  app.post('/posts', { config: { auth: { permissions: ['posts:create'] } } }, async () => ({ ok: true }))
  app.put('/posts/:id', { config: { auth: { permissions: ['posts:update'], owner: ownerOf } } }, async (req) => found(req))
  app.delete('/posts/:id', { config: { auth: { permissions: ['posts:delete'], owner: async (req) => ownerOf(req) } } }, async (req) => found(req))
  app.put('/posts/:id/publish', { config: { auth: { permissions: ['posts:update', 'posts:publish'], owner: ownerOf } } }, async (req) => found(req))
  app.get('/stats', { config: { auth: { roles: ['editor'] } } }, async () => ({ ok: true }))
  app.get('/audit', { config: { auth: { permissions: ['audit:read'] } } }, async () => ({ ok: true }))
  app.get('/me', async (req) => ({ subject: req.auth?.subject }))
  return app
}

const ROLE_SETS = ['none', 'viewer', 'user', 'editor', 'admin', 'auditor'] as const

// alice calls every route with each role; the expected status per role set,
// in the order of ROLE_SETS.
const MATRIX: Array<[string, string, number[]]> = [
  ['GET', '/posts', [403, 200, 200, 200, 200, 200]],
  ['POST', '/posts', [403, 403, 403, 200, 200, 403]],
  ['PUT', '/posts/1', [403, 403, 200, 200, 200, 403]],
  ['PUT', '/posts/2', [403, 403, 403, 200, 200, 403]],
  ['PUT', '/posts/9', [403, 403, 404, 404, 404, 403]],
  ['DELETE', '/posts/1', [403, 403, 200, 200, 200, 403]],
  ['DELETE', '/posts/2', [403, 403, 403, 200, 200, 403]],
  ['PUT', '/posts/1/publish', [403, 403, 403, 200, 200, 403]],
  ['GET', '/stats', [403, 403, 403, 200, 200, 403]],
  ['GET', '/audit', [403, 403, 403, 403, 200, 200]],
  ['GET', '/me', [200, 200, 200, 200, 200, 200]]
]

t.test('role x route x ownership matrix', async (t) => {
  const app = await blogApp()
  t.teardown(() => app.close())
  for (const [method, url, expected] of MATRIX) {
    for (const [i, roleSet] of ROLE_SETS.entries()) {
      const roles = roleSet === 'none' ? [] : [roleSet]
      const res = await app.inject({ method: method as 'GET', url, headers: as('alice', roles) })
      t.equal(res.statusCode, expected[i], `${roleSet} ${method} ${url}`)
      if (res.statusCode === 403) {
        t.equal(res.json().code, 'GK_FORBIDDEN')
        t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope"')
      }
    }
  }
})

t.test('anonymous callers get 401 on every protected route, whatever the ownership', async (t) => {
  const app = await blogApp()
  t.teardown(() => app.close())
  for (const [method, url] of MATRIX) {
    const res = await app.inject({ method: method as 'GET', url })
    t.equal(res.statusCode, 401, `${method} ${url}`)
    t.equal(res.json().code, 'GK_UNAUTHORIZED')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

t.test('combined roles grant the union of their permissions', async (t) => {
  const app = await blogApp()
  t.teardown(() => app.close())
  const rows: Array<[string[], string, string, number]> = [
    [['viewer', 'auditor'], 'GET', '/audit', 200],
    [['viewer', 'auditor'], 'PUT', '/posts/1', 403],
    [['viewer', 'user'], 'PUT', '/posts/1', 200],
    [['ghost', 'user'], 'PUT', '/posts/1', 200],
    [['ghost'], 'GET', '/posts', 403]
  ]
  for (const [roles, method, url, status] of rows) {
    t.equal((await app.inject({ method: method as 'GET', url, headers: as('alice', roles) })).statusCode, status, `${roles.join('+')} ${method} ${url}`)
  }
})

t.test('applications get their scopes intersected with their owner\'s permissions', async (t) => {
  const app = await blogApp()
  t.teardown(() => app.close())
  // [owner roles, key scopes, method, url, status]
  const rows: Array<[string[], string[], string, string, number]> = [
    [['user'], ['posts:*'], 'GET', '/posts', 200],
    [['user'], ['posts:*'], 'POST', '/posts', 403],
    [['user'], ['posts:*'], 'PUT', '/posts/1', 200],
    [['user'], ['posts:*'], 'PUT', '/posts/2', 403],
    [['user'], ['posts:read'], 'PUT', '/posts/1', 403],
    [['user'], [], 'GET', '/posts', 403],
    [['admin'], ['posts:update:own'], 'PUT', '/posts/1', 200],
    [['admin'], ['posts:update:own'], 'PUT', '/posts/2', 403],
    [['admin'], ['*:read'], 'GET', '/audit', 200],
    [['admin'], ['*:read'], 'DELETE', '/posts/2', 403],
    [['auditor'], ['*'], 'GET', '/audit', 200],
    [['auditor'], ['*'], 'POST', '/posts', 403],
    [[], ['*'], 'GET', '/posts', 403]
  ]
  for (const [roles, scopes, method, url, status] of rows) {
    const res = await app.inject({ method: method as 'GET', url, headers: as('alice', roles, scopes) })
    t.equal(res.statusCode, status, `key of a ${roles.join('+') || 'role-less'} owner with [${scopes.join(', ')}]: ${method} ${url}`)
  }
})

t.test('route scopes match with wildcards on the credential side', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  app.get('/export', { config: { auth: { scopes: ['posts:read'] } } }, async () => 'ok')
  app.get('/token', { config: { auth: { scopes: ['read'] } } }, async () => 'ok')
  app.put('/posts/:id/export', { config: { auth: { scopes: ['posts:export'], owner: ownerOf } } }, async () => 'ok')
  const rows: Array<[string[], string, string, number]> = [
    [['posts:*'], 'GET', '/export', 200],
    [['*:read'], 'GET', '/export', 200],
    [['posts:write'], 'GET', '/export', 403],
    [['read'], 'GET', '/token', 200],
    [['*'], 'GET', '/token', 200],
    [['posts:read'], 'GET', '/token', 403],
    [['posts:export:own'], 'PUT', '/posts/1/export', 200],
    [['posts:export:own'], 'PUT', '/posts/2/export', 403]
  ]
  for (const [scopes, method, url, status] of rows) {
    t.equal((await app.inject({ method: method as 'GET', url, headers: as('alice', ['user'], scopes) })).statusCode, status, `[${scopes.join(', ')}] ${method} ${url}`)
  }
  // a person's session carries no scope, so it holds none
  t.equal((await app.inject({ url: '/export', headers: as('alice', ['admin']) })).statusCode, 403)
})

t.test('roles on a route follow inheritance five levels deep', async (t) => {
  const app = await rbacApp({
    roles: {
      r0: { inherits: ['r1'] },
      r1: { inherits: ['r2'] },
      r2: { inherits: ['r3'] },
      r3: { inherits: ['r4'] },
      r4: { inherits: ['r5'] },
      r5: { permissions: ['deep:read'] }
    }
  })
  t.teardown(() => app.close())
  app.get('/r5', { config: { auth: { roles: ['r5'] } } }, async () => 'ok')
  app.get('/r2', { config: { auth: { roles: ['r2'] } } }, async () => 'ok')
  app.get('/deep', { config: { auth: { permissions: ['deep:read'] } } }, async () => 'ok')
  for (let i = 0; i <= 5; i++) {
    t.equal((await app.inject({ url: '/r5', headers: as('a', [`r${i}`]) })).statusCode, 200, `r${i} has r5`)
    t.equal((await app.inject({ url: '/deep', headers: as('a', [`r${i}`]) })).statusCode, 200, `r${i} holds deep:read`)
    t.equal((await app.inject({ url: '/r2', headers: as('a', [`r${i}`]) })).statusCode, i <= 2 ? 200 : 403, `r${i} on an r2 route`)
  }
})
