import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { as, rbacApp } from './app.js'

const posts = new Map([['1', 'alice'], ['2', 'bob']])

t.test('a role supplied by the client in a header, the query or the body is never consulted', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  let ran = 0
  const owner = (req: { params: unknown }) => posts.get((req.params as { id: string }).id)
  app.put('/posts/:id', { config: { auth: { permissions: ['posts:update'], owner } } }, async () => { ran++; return 'updated' })
  app.get('/stats', { config: { auth: { roles: ['admin'] } } }, async () => { ran++; return 'stats' })
  const json = { 'content-type': 'application/json' }
  const attempts: Array<[string, { method: 'PUT' | 'GET', url: string, headers?: Record<string, string>, payload?: string }]> = [
    ['x-role header', { method: 'PUT', url: '/posts/2', headers: { 'x-role': 'admin' } }],
    ['x-roles header', { method: 'PUT', url: '/posts/2', headers: { 'x-roles': 'admin,editor' } }],
    ['roles query', { method: 'PUT', url: '/posts/2?roles=admin&role=admin' }],
    ['roles[] query', { method: 'PUT', url: '/posts/2?roles[]=admin' }],
    ['body roles', { method: 'PUT', url: '/posts/2', headers: json, payload: JSON.stringify({ roles: ['admin'], role: 'admin' }) }],
    ['body permissions', { method: 'PUT', url: '/posts/2', headers: json, payload: JSON.stringify({ permissions: ['*'] }) }],
    ['body subject', { method: 'PUT', url: '/posts/2', headers: json, payload: JSON.stringify({ subject: 'bob', ownerId: 'alice' }) }],
    ['stats with x-role', { method: 'GET', url: '/stats', headers: { 'x-role': 'admin' } }],
    ['stats with roles query', { method: 'GET', url: '/stats?roles=admin' }]
  ]
  for (const [name, req] of attempts) {
    const res = await app.inject({ ...req, headers: { ...as('alice', ['user']), ...req.headers } })
    t.equal(res.statusCode, 403, name)
    t.equal(res.json().code, 'GK_FORBIDDEN', name)
  }
  t.equal(ran, 0, 'no handler ran')
  // The same caller is let in where the credential's own role allows it.
  t.equal((await app.inject({ method: 'PUT', url: '/posts/1', headers: as('alice', ['user']) })).statusCode, 200)
})

t.test('an owner resolver that throws or rejects stops the request with its own error', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  let ran = 0
  const handler = async () => { ran++; return 'x' }
  app.put('/sync-404/:id', { config: { auth: { permissions: ['posts:update'], owner: () => { throw new errors.GK_NOT_FOUND('post') } } } }, handler)
  app.put('/async-404/:id', { config: { auth: { permissions: ['posts:update'], owner: async () => { throw new errors.GK_NOT_FOUND('post') } } } }, handler)
  app.put('/sync-crash/:id', { config: { auth: { permissions: ['posts:update'], owner: () => { throw new Error('db down') } } } }, handler)
  app.put('/async-crash/:id', { config: { auth: { permissions: ['posts:update'], owner: () => Promise.reject(new Error('db down')) } } }, handler)
  app.put('/none/:id', { config: { auth: { permissions: ['posts:update'], owner: () => null } } }, handler)
  app.put('/undefined/:id', { config: { auth: { permissions: ['posts:update'], owner: () => undefined } } }, handler)
  const rows: Array<[string, number, string?]> = [
    ['/sync-404/1', 404, 'GK_NOT_FOUND'],
    ['/async-404/1', 404, 'GK_NOT_FOUND'],
    ['/sync-crash/1', 500],
    ['/async-crash/1', 500],
    ['/none/1', 403, 'GK_FORBIDDEN'],
    ['/undefined/1', 403, 'GK_FORBIDDEN']
  ]
  for (const [url, status, code] of rows) {
    const res = await app.inject({ method: 'PUT', url, headers: as('alice', ['user']) })
    t.equal(res.statusCode, status, url)
    if (code !== undefined) t.equal(res.json().code, code, url)
  }
  t.equal(ran, 0, 'the handler never ran')
})

t.test('the owner resolver runs once, and only when an :own grant needs it', async (t) => {
  const app = await rbacApp({
    roles: { author: { permissions: ['posts:update:own', 'posts:publish:own'] }, editor: { permissions: ['posts:*'] } }
  })
  t.teardown(() => app.close())
  let calls = 0
  app.put('/posts/:id', {
    config: { auth: { permissions: ['posts:update', 'posts:publish'], owner: async () => { calls++; return 'alice' } } }
  }, async () => 'ok')
  t.equal((await app.inject({ method: 'PUT', url: '/posts/1', headers: as('alice', ['author']) })).statusCode, 200)
  t.equal(calls, 1, 'one call for two :own grants')
  t.equal((await app.inject({ method: 'PUT', url: '/posts/1', headers: as('carol', ['editor']) })).statusCode, 200)
  t.equal(calls, 1, 'not called for a full grant')
  t.equal((await app.inject({ method: 'PUT', url: '/posts/1', headers: as('bob', ['author']) })).statusCode, 403)
  t.equal(calls, 2)
})

t.test('owner ids are compared as strings, exactly', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  app.put('/n/:id', { config: { auth: { permissions: ['posts:update'], owner: () => 42 as unknown as string } } }, async () => 'ok')
  app.put('/case/:id', { config: { auth: { permissions: ['posts:update'], owner: () => 'Alice' } } }, async () => 'ok')
  t.equal((await app.inject({ method: 'PUT', url: '/n/1', headers: as('42', ['user']) })).statusCode, 200)
  t.equal((await app.inject({ method: 'PUT', url: '/n/1', headers: as('420', ['user']) })).statusCode, 403)
  t.equal((await app.inject({ method: 'PUT', url: '/case/1', headers: as('alice', ['user']) })).statusCode, 403)
})

t.test('401 for no or a bad credential, 403 for a missing permission, each with its challenge', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  app.delete('/posts/:id', { config: { auth: { permissions: ['posts:delete'] } } }, async () => 'gone')
  const rows: Array<[Record<string, string>, number, string, string]> = [
    [{}, 401, 'GK_UNAUTHORIZED', 'Bearer realm="api"'],
    [{ authorization: 'Bearer bad' }, 401, 'GK_TOKEN_INVALID', 'Bearer realm="api", error="invalid_token"'],
    [as('alice', ['viewer']), 403, 'GK_FORBIDDEN', 'Bearer realm="api", error="insufficient_scope"'],
    [as('alice', []), 403, 'GK_FORBIDDEN', 'Bearer realm="api", error="insufficient_scope"']
  ]
  for (const [headers, status, code, challenge] of rows) {
    const res = await app.inject({ method: 'DELETE', url: '/posts/2', headers })
    t.equal(res.statusCode, status, code)
    t.equal(res.json().code, code)
    t.equal(res.headers['www-authenticate'], challenge)
  }
  const forbidden = await app.inject({ method: 'DELETE', url: '/posts/2', headers: as('alice', ['viewer']) })
  t.notMatch(forbidden.body, /posts:delete|viewer/, 'the response does not say what was missing')
})

t.test('access.denied records the subject, the route and what was missing', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  const denied: AuditEvent[] = []
  app.gatekeeper.on('access.denied', (e) => denied.push(e))
  app.put('/posts/:id', { config: { auth: { permissions: ['posts:read', 'posts:update'], owner: () => 'bob' } } }, async () => 'ok')
  app.get('/stats', { config: { auth: { roles: ['editor', 'auditor'] } } }, async () => 'ok')
  app.get('/export', { config: { auth: { scopes: ['posts:export'] } } }, async () => 'ok')
  await app.inject({ method: 'PUT', url: '/posts/7', headers: as('alice', ['user']) })
  await app.inject({ url: '/stats', headers: as('alice', ['user']) })
  await app.inject({ url: '/export', headers: as('alice', ['admin'], ['posts:read']) })
  await app.inject({ url: '/stats' })
  t.equal(denied.length, 3, 'a 401 is not an access denial')
  t.match(denied[0], { type: 'access.denied', outcome: 'failure', reason: 'GK_FORBIDDEN', subject: 'alice', route: 'PUT /posts/:id', missingPermission: 'posts:update' })
  t.match(denied[1], { subject: 'alice', route: 'GET /stats', missingRole: ['editor', 'auditor'] })
  t.match(denied[2], { subject: 'alice', route: 'GET /export', missingScopes: ['posts:export'] })
})

t.test('request.can answers with the role graph, ownership and scopes', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  app.get('/can', { config: { auth: { optional: true } } }, async (req) => ({
    read: req.can('posts:read'),
    anyRead: req.can('*:read'),
    updateOwn: req.can('posts:update', 'alice'),
    updateOther: req.can('posts:update', 'bob'),
    updateUnknownOwner: req.can('posts:update'),
    updateNullOwner: req.can('posts:update', null),
    create: req.can('posts:create'),
    ownSuffix: req.can('posts:update:own', 'alice'),
    bareToken: req.can('posts')
  }))
  const ask = async (headers: Record<string, string> = {}) => (await app.inject({ url: '/can', headers })).json()
  t.same(await ask(as('alice', ['user'])), {
    read: true, anyRead: false, updateOwn: true, updateOther: false, updateUnknownOwner: false, updateNullOwner: false, create: false, ownSuffix: false, bareToken: false
  })
  t.same(await ask(as('alice', ['admin'])), {
    read: true, anyRead: true, updateOwn: true, updateOther: true, updateUnknownOwner: true, updateNullOwner: true, create: true, ownSuffix: false, bareToken: true
  })
  t.match(await ask(as('alice', ['editor'], ['posts:read'])), { read: true, updateOwn: false, create: false })
  t.same(await ask(), {
    read: false, anyRead: false, updateOwn: false, updateOther: false, updateUnknownOwner: false, updateNullOwner: false, create: false, ownSuffix: false, bareToken: false
  })
})

t.test('the owner resolver reads the validated body; an invalid body never reaches it', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  const projects = new Map([['p1', 'alice'], ['p2', 'bob']])
  let calls = 0
  app.post('/tasks', {
    config: {
      auth: {
        permissions: ['posts:update'],
        owner: (req) => { calls++; return projects.get((req.body as { projectId: string }).projectId) }
      }
    },
    schema: { body: { type: 'object', required: ['projectId'], additionalProperties: false, properties: { projectId: { type: 'string', maxLength: 10 } } } }
  }, async () => 'created')
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/tasks', headers: as('alice', ['user']), payload: payload as Record<string, unknown> })
  t.equal((await post({ projectId: 'p1' })).statusCode, 200)
  t.equal((await post({ projectId: 'p2' })).statusCode, 403)
  t.equal(calls, 2)
  t.equal((await post({ projectId: 'much-too-long-id' })).statusCode, 400)
  t.equal((await post({})).statusCode, 400)
  t.equal(calls, 2, 'validation ran first')
})
