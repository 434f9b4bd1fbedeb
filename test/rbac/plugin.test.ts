import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { rbac, type RbacOptions } from '../../lib/rbac/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { ROLES, rbacApp } from './app.js'

t.test('registration replaces the permission model and decorates app.gatekeeper.rbac', async (t) => {
  const app = await rbacApp()
  t.teardown(() => app.close())
  const api = app.gatekeeper.rbac
  if (api === undefined) throw new Error('rbac not decorated')
  t.same(api.roles(), ['admin', 'editor', 'user', 'viewer', 'auditor'])
  t.same(api.permissionsOf(['editor']), ['comments:create', 'posts:*', 'posts:delete:own', 'posts:read', 'posts:update:own'])
  t.equal(app.gatekeeper.permissionsOf(['editor']), api.permissionsOf(['editor']), 'the core answers through the model')
  t.same(api.expand(['admin']), ['admin', 'editor', 'user'])
  t.same(api.role('editor')?.inherits, ['user'])
  t.equal(api.role('nobody'), undefined)
  t.equal(api.check(['posts:*'], 'posts:read'), true)
  t.equal(api.check(['posts:*'], 'postsx:read'), false)
  t.ok(Object.isFrozen(api))
})

t.test('bad options fail registration with GK_CONFIG naming what to change', async (t) => {
  const rows: Array<[string, unknown, RegExp]> = [
    ['no options', {}, /'roles' is required/],
    ['unknown option', { roles: ROLES, role: {} }, /unknown option 'role'/],
    ['cacheSize zero', { roles: ROLES, cacheSize: 0 }, /cacheSize must be an integer/],
    ['cacheSize fractional', { roles: ROLES, cacheSize: 1.5 }, /cacheSize must be an integer/],
    ['unknown inherited role', { roles: { admin: { inherits: ['superuser'] } } }, /role 'admin' inherits 'superuser'/],
    ['cycle', { roles: { a: { inherits: ['b'] }, b: { inherits: ['a'] } } }, /cycle: a -> b -> a/],
    ['malformed permission', { roles: { user: { permissions: ['posts:read:all'] } } }, /role 'user' has a malformed permission "posts:read:all"/]
  ]
  for (const [name, opts, message] of rows) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await t.rejects(async () => { await app.register(rbac, opts as RbacOptions) }, { code: 'GK_CONFIG', message }, name)
    await app.close().catch(() => {})
  }
})

t.test('rbac needs the gatekeeper registered first, and registers once', async (t) => {
  const bare = Fastify()
  await t.rejects(async () => { await bare.register(rbac, { roles: ROLES }) }, { code: 'GK_CONFIG', message: /register the gatekeeper plugin before rbac/ })
  await bare.close().catch(() => {})

  const twice = Fastify()
  await twice.register(gatekeeper, { store: memoryStore() })
  await twice.register(rbac, { roles: ROLES })
  await t.rejects(async () => { await twice.register(rbac, { roles: ROLES }) }, { code: 'GK_CONFIG', message: /already registered/ })
  await twice.close().catch(() => {})
})

t.test('route config that cannot match fails at start-up, naming the route', async (t) => {
  const rows: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an undefined role', { roles: ['admn'] }, /route GET \/x requires role 'admn', which is not defined \(defined: admin, editor, user, viewer, auditor\)/],
    ['an :own permission', { permissions: ['posts:update:own'] }, /route GET \/x: config\.auth\.permissions: 'posts:update:own'.*owner resolver/],
    ['a bare permission', { permissions: ['posts'] }, /route GET \/x: config\.auth\.permissions: 'posts' is not 'resource:action'/],
    ['a partial wildcard', { permissions: ['po*:read'] }, /'po\*:read' is not 'resource:action'/],
    ['a malformed scope', { scopes: ['posts read'] }, /config\.auth\.scopes: 'posts read'/]
  ]
  for (const [name, auth, message] of rows) {
    const app = await rbacApp()
    app.get('/x', { config: { auth } }, async () => 'x')
    await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message }, name)
    await app.close().catch(() => {})
  }
  const ok = await rbacApp()
  t.teardown(() => ok.close())
  ok.get('/x', { config: { auth: { roles: ['user'], permissions: ['posts:*', '*:read', '*'], scopes: ['read', 'posts:read'] } } }, async () => 'x')
  ok.get('/open', { config: { auth: false } }, async () => 'x')
  await t.resolves(async () => { await ok.ready() })
})

t.test('a route registered before rbac is checked with the role graph too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  const { testStrategy, as } = await import('./app.js')
  app.gatekeeper.registerStrategy(testStrategy(app))
  app.get('/early', { config: { auth: { permissions: ['posts:update'] } } }, async () => 'ok')
  await app.register(rbac, { roles: ROLES })
  t.equal((await app.inject({ url: '/early', headers: as('a', ['editor']) })).statusCode, 200)
  t.equal((await app.inject({ url: '/early', headers: as('a', ['viewer']) })).statusCode, 403)
})
