import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { coreApp } from '../helpers.js'

// Without the rbac plugin the core's literal model applies: a role named in
// the test header grants nothing, so tests give permissions through a model.
async function appWithModel () {
  const app = await coreApp()
  const grants: Record<string, string[]> = {
    admin: ['*'],
    editor: ['posts:update', 'posts:read'],
    user: ['posts:read', 'posts:update:own']
  }
  app.gatekeeper.setPermissionModel({
    permissionsOf: (roles) => roles.flatMap((r) => grants[r] ?? []),
    grants: (auth, p) => {
      const g = auth.permissions
      if (g.includes('*') || g.includes(p)) return !!(auth.scopes === undefined || auth.scopes.includes(p))
      return g.includes(`${p}:own`) ? 'own' : false
    }
  })
  return app
}

const owners: Record<string, string> = { 1: 'alice', 2: 'bob' }

t.test('permissions: 401 for anonymous, 403 for the unentitled, ownership for :own grants', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  const denied: AuditEvent[] = []
  app.gatekeeper.on('access.denied', (e) => denied.push(e))
  app.put('/posts/:id', {
    config: {
      auth: {
        permissions: ['posts:update'],
        owner: (req) => {
          const id = (req.params as { id: string }).id
          if (!(id in owners)) throw new errors.GK_NOT_FOUND('post')
          return owners[id]
        }
      }
    }
  }, async () => ({ updated: true }))

  const rows: Array<[string | null, string, number, string?]> = [
    [null, '1', 401, 'GK_UNAUTHORIZED'],
    ['alice;user', '1', 200],
    ['alice;user', '2', 403, 'GK_FORBIDDEN'],
    ['bob;user', '2', 200],
    ['carol;editor', '1', 200],
    ['dave;admin', '2', 200],
    ['erin;', '1', 403, 'GK_FORBIDDEN'],
    ['alice;user', '9', 404, 'GK_NOT_FOUND']
  ]
  for (const [who, id, status, code] of rows) {
    const res = await app.inject({ method: 'PUT', url: `/posts/${id}`, headers: who === null ? {} : { 'x-test-user': who } })
    t.equal(res.statusCode, status, `${who} on post ${id}`)
    if (code !== undefined) t.equal(res.json().code, code)
    if (status === 403) t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope"')
  }
  t.equal(denied.length, 2)
  t.match(denied[0], { type: 'access.denied', subject: 'alice', route: 'PUT /posts/:id', missingPermission: 'posts:update' })
})

t.test('an owner resolver that finds no owner (null, undefined, an empty id) grants nothing, even to a caller with an empty subject', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  const answers: Record<string, unknown> = { a: null, b: undefined, c: '' }
  app.put('/things/:id', { config: { auth: { permissions: ['posts:update'], owner: (req) => answers[(req.params as { id: string }).id] as string } } }, async () => 'x')
  app.get('/can/:id', async (req) => ({ can: req.can('posts:update', answers[(req.params as { id: string }).id] as string) }))
  for (const id of ['a', 'b', 'c']) {
    t.equal((await app.inject({ method: 'PUT', url: `/things/${id}`, headers: { 'x-test-user': ';user' } })).statusCode, 403, `owner ${JSON.stringify(answers[id])}`)
    t.same((await app.inject({ url: `/can/${id}`, headers: { 'x-test-user': ';user' } })).json(), { can: false })
  }
})

t.test('an :own grant without an owner resolver on the route is refused', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  app.put('/no-owner', { config: { auth: { permissions: ['posts:update'] } } }, async () => 'x')
  t.equal((await app.inject({ method: 'PUT', url: '/no-owner', headers: { 'x-test-user': 'alice;user' } })).statusCode, 403)
})

t.test('an owner resolver that rejects never lets the request through', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  let ran = false
  app.put('/boom', { config: { auth: { permissions: ['posts:update'], owner: async () => { throw new Error('db down') } } } }, async () => { ran = true; return 'x' })
  const res = await app.inject({ method: 'PUT', url: '/boom', headers: { 'x-test-user': 'alice;user' } })
  t.equal(res.statusCode, 500)
  t.equal(ran, false)
})

t.test('roles are any-of, scopes are all-of, and a credential without scopes holds none', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  app.get('/staff', { config: { auth: { roles: ['admin', 'editor'] } } }, async () => 'staff')
  app.get('/scoped', { config: { auth: { scopes: ['read', 'write'] } } }, async () => 'scoped')
  t.equal((await app.inject({ url: '/staff', headers: { 'x-test-user': 'a;editor' } })).statusCode, 200)
  t.equal((await app.inject({ url: '/staff', headers: { 'x-test-user': 'a;user' } })).statusCode, 403)
  t.equal((await app.inject({ url: '/scoped', headers: { 'x-test-user': 'app;;read,write' } })).statusCode, 200)
  t.equal((await app.inject({ url: '/scoped', headers: { 'x-test-user': 'app;;read' } })).statusCode, 403)
  // a person's session carries no scope, so it holds none
  t.equal((await app.inject({ url: '/scoped', headers: { 'x-test-user': 'a;admin' } })).statusCode, 403)
})

t.test('anyOf admits a caller who meets one alternative in full', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  app.put('/posts/:id', {
    config: { auth: { anyOf: [{ permissions: ['posts:update'] }, { scopes: ['posts:write'] }, { roles: ['auditor'], scopes: ['posts:audit'] }], owner: (req) => owners[(req.params as { id: string }).id] } }
  }, async () => 'ok')
  app.get('/both', { config: { auth: { roles: ['editor'], anyOf: [{ permissions: ['posts:read'] }, { scopes: ['posts:read'] }] } } }, async () => 'ok')
  const rows: Array<[string, string, string, number]> = [
    ['PUT', '/posts/1', 'carol;editor', 200],
    ['PUT', '/posts/1', 'alice;user', 200],
    ['PUT', '/posts/2', 'alice;user', 403],
    ['PUT', '/posts/2', 'job;;posts:write', 200],
    ['PUT', '/posts/2', 'job;;posts:read', 403],
    ['PUT', '/posts/2', 'audit;auditor;posts:audit', 200],
    ['PUT', '/posts/2', 'audit;user;posts:audit', 403],
    ['PUT', '/posts/2', 'erin;', 403],
    ['GET', '/both', 'carol;editor', 200],
    ['GET', '/both', 'alice;user', 403],
    ['GET', '/both', 'job;editor;posts:read', 200],
    ['GET', '/both', 'job;;posts:read', 403]
  ]
  for (const [method, url, who, status] of rows) {
    t.equal((await app.inject({ method: method as 'GET', url, headers: { 'x-test-user': who } })).statusCode, status, `${who} ${method} ${url}`)
  }
  t.same(app.gatekeeper.routes().find((r) => r.url === '/both')?.anyOf, [{ roles: [], permissions: ['posts:read'], scopes: [] }, { roles: [], permissions: [], scopes: ['posts:read'] }])
})

t.test('request.can answers inside handlers', async (t) => {
  const app = await appWithModel()
  t.teardown(() => app.close())
  app.get('/can', { config: { auth: { optional: true } } }, async (req) => ({
    read: req.can('posts:read'),
    updateOwn: req.can('posts:update', 'alice'),
    updateOther: req.can('posts:update', 'bob'),
    updateUnknownOwner: req.can('posts:update'),
    del: req.can('posts:delete')
  }))
  t.same((await app.inject({ url: '/can', headers: { 'x-test-user': 'alice;user' } })).json(),
    { read: true, updateOwn: true, updateOther: false, updateUnknownOwner: false, del: false })
  t.same((await app.inject('/can')).json(),
    { read: false, updateOwn: false, updateOther: false, updateUnknownOwner: false, del: false })
})

t.test('the literal model grants exact names and * only, and respects scopes', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const m = app.gatekeeper.permissionModel
  const user = { strategy: 't', kind: 'user' as const, subject: 'u', roles: [], permissions: ['a:read', 'b:update:own'] }
  t.equal(m.grants(user, 'a:read'), true)
  t.equal(m.grants(user, 'a:write'), false)
  t.equal(m.grants(user, 'b:update'), 'own')
  t.equal(m.grants({ ...user, permissions: ['*'] }, 'z:z'), true)
  t.equal(m.grants({ ...user, scopes: ['a:read'] }, 'a:read'), true)
  t.equal(m.grants({ ...user, scopes: [] }, 'a:read'), false)
  t.equal(m.grants({ ...user, scopes: ['b:update:own'] }, 'b:update'), 'own')
  t.equal(m.grants({ ...user, kind: 'application' }, 'a:read'), false, 'an application without scopes holds none')
  t.equal(m.grants({ ...user, permissions: undefined as never }, 'a:read'), false, 'no permissions list, no permission')
  t.same(m.permissionsOf(['admin']), [])
})
