import t from 'tap'
import { compileRoles } from '../../lib/rbac/compile.js'
import { RbacModel } from '../../lib/rbac/model.js'
import type { AuthContext } from '../../lib/core/types.js'

const ROLES = {
  admin: { inherits: ['editor'], permissions: ['*'] },
  editor: { inherits: ['user'], permissions: ['posts:*'] },
  user: { permissions: ['posts:read', 'posts:update:own'] }
}

t.test('roles compile into flattened, sorted, canonical grant sets', async (t) => {
  const g = compileRoles(ROLES)
  t.same([...g.keys()], ['admin', 'editor', 'user'], 'definition order is kept')
  t.same(g.get('user')?.effective, ['posts:read', 'posts:update:own'])
  t.same(g.get('editor')?.effective, ['posts:*', 'posts:read', 'posts:update:own'])
  t.same(g.get('admin')?.effective, ['*', 'posts:*', 'posts:read', 'posts:update:own'])
  t.same(g.get('admin')?.ancestors, ['editor', 'user'])
  t.same(g.get('admin')?.inherits, ['editor'])
  t.same(g.get('admin')?.permissions, ['*'])
  t.ok(Object.isFrozen(g.get('admin')?.effective))
})

t.test('*:* and *:*:own are stored in canonical spelling', async (t) => {
  const g = compileRoles({ r: { permissions: ['*:*', '*:*:own', 'posts:read', 'posts:read'] } })
  t.same(g.get('r')?.effective, ['*', '*:*:own', 'posts:read'])
})

t.test('inheritance five levels deep flattens every level', async (t) => {
  const g = compileRoles({
    r0: { inherits: ['r1'], permissions: ['a0:x'] },
    r1: { inherits: ['r2'], permissions: ['a1:x'] },
    r2: { inherits: ['r3'], permissions: ['a2:x'] },
    r3: { inherits: ['r4'], permissions: ['a3:x'] },
    r4: { inherits: ['r5'], permissions: ['a4:x'] },
    r5: { permissions: ['a5:x'] }
  })
  t.same(g.get('r0')?.effective, ['a0:x', 'a1:x', 'a2:x', 'a3:x', 'a4:x', 'a5:x'])
  t.same(g.get('r0')?.ancestors, ['r1', 'r2', 'r3', 'r4', 'r5'])
  t.same(g.get('r3')?.effective, ['a3:x', 'a4:x', 'a5:x'])
  t.same(g.get('r5')?.effective, ['a5:x'])
})

t.test('a diamond is fine: a role reached twice is counted once', async (t) => {
  const g = compileRoles({
    top: { inherits: ['left', 'right'] },
    left: { inherits: ['base'], permissions: ['l:x'] },
    right: { inherits: ['base'], permissions: ['r:x'] },
    base: { permissions: ['b:x'] }
  })
  t.same(g.get('top')?.effective, ['b:x', 'l:x', 'r:x'])
  t.same(g.get('top')?.ancestors, ['left', 'base', 'right'])
})

t.test('bad role definitions fail with GK_CONFIG naming the culprit', async (t) => {
  const rows: Array<[string, unknown, RegExp]> = [
    ['missing roles', undefined, /'roles' is required/],
    ['roles as an array', [], /'roles' is required/],
    ['no roles', {}, /at least one role/],
    ['bad role name', { 'a b': {} }, /role name "a b"/],
    ['long role name', { ['r'.repeat(65)]: {} }, /role name/],
    ['role not an object', { user: ['posts:read'] }, /role 'user' must be an object/],
    ['unknown key', { user: { permission: ['posts:read'] } }, /role 'user' has an unknown key 'permission'/],
    ['permissions not an array', { user: { permissions: 'posts:read' } }, /roles\.user\.permissions must be an array/],
    ['inherits with a number', { user: { inherits: [1] } }, /roles\.user\.inherits must be an array of strings, found 1/],
    ['malformed permission', { user: { permissions: ['posts.read'] } }, /role 'user' has a malformed permission "posts\.read"/],
    ['partial wildcard', { user: { permissions: ['post*:read'] } }, /role 'user' .*"post\*:read".*partial wildcards/],
    ['unknown inherited role', { admin: { inherits: ['editr'] }, editor: {} }, /role 'admin' inherits 'editr', which is not defined \(defined: admin, editor\)/],
    ['self cycle', { a: { inherits: ['a'] } }, /cycle: a -> a/],
    ['cycle', { a: { inherits: ['b'] }, b: { inherits: ['c'] }, c: { inherits: ['a'] } }, /cycle: a -> b -> c -> a/],
    ['cycle below a root', { root: { inherits: ['x'] }, x: { inherits: ['y'] }, y: { inherits: ['x'] } }, /cycle: x -> y -> x/]
  ]
  for (const [name, roles, message] of rows) {
    t.throws(() => compileRoles(roles), { code: 'GK_CONFIG', message }, name)
  }
})

function user (roles: string[], permissions: readonly string[], scopes?: string[]): AuthContext {
  return { strategy: 't', kind: scopes === undefined ? 'user' : 'application', subject: 'u', roles, permissions, ...(scopes === undefined ? {} : { scopes }) }
}

t.test('the model memoizes by role set: order and duplicates do not matter, unknown roles grant nothing', async (t) => {
  const m = new RbacModel(compileRoles(ROLES), 100)
  const a = m.permissionsOf(['user', 'editor'])
  t.equal(m.permissionsOf(['editor', 'user', 'editor']), a, 'the same frozen array')
  t.same(a, ['posts:*', 'posts:read', 'posts:update:own'])
  t.same(m.permissionsOf(['ghost']), [])
  t.same(m.permissionsOf(['ghost', 'user']), m.permissionsOf(['user']))
  t.same(m.permissionsOf('admin' as unknown as string[]), [], 'a non-array grants nothing')
  t.same(m.permissionsOf([7, 'user'] as unknown as string[]), ['posts:read', 'posts:update:own'])
  t.same(m.expand(['admin']), ['admin', 'editor', 'user'])
  t.equal(m.memoized, 3, 'three role sets, and unknown roles made no entry of their own')
})

t.test('the memo is bounded', async (t) => {
  const roles: Record<string, { permissions: string[] }> = {}
  for (let i = 0; i < 10; i++) roles[`r${i}`] = { permissions: [`p${i}:x`] }
  const m = new RbacModel(compileRoles(roles), 3)
  for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) m.permissionsOf([`r${i}`, `r${j}`])
  t.equal(m.memoized, 3)
  t.same(m.permissionsOf(['r0', 'r9']), ['p0:x', 'p9:x'], 'answers stay right after eviction')
})

t.test('the model decides on auth.permissions, and on scopes too for applications', async (t) => {
  const m = new RbacModel(compileRoles(ROLES), 100)
  const u = m.permissionsOf(['user'])
  t.equal(m.grants(user(['user'], u), 'posts:read'), true)
  t.equal(m.grants(user(['user'], u), 'posts:update'), 'own')
  t.equal(m.grants(user(['user'], u), 'posts:delete'), false)
  t.equal(m.grants(user(['admin'], []), 'posts:read'), false, 'roles alone grant nothing: strategies fill permissions')
  t.equal(m.grants(user(['user'], u, ['posts:*']), 'posts:read'), true)
  t.equal(m.grants(user(['user'], u, ['posts:*']), 'posts:update'), 'own')
  t.equal(m.grants(user(['user'], u, ['posts:*']), 'posts:delete'), false, 'a wide scope never exceeds the owner')
  t.equal(m.grants(user(['admin'], m.permissionsOf(['admin']), ['posts:update:own']), 'posts:update'), 'own', 'a narrow scope narrows the owner')
  t.equal(m.grants(user(['admin'], m.permissionsOf(['admin']), ['*:read']), 'users:read'), true)
  t.equal(m.grants(user(['admin'], m.permissionsOf(['admin']), ['*:read']), 'users:delete'), false)
  t.equal(m.grants(user(['admin'], m.permissionsOf(['admin']), []), 'users:read'), false, 'no scopes, no access')
  t.equal(m.grants(user(['user'], 'x' as unknown as string[]), 'posts:read'), false)
  t.equal(m.grants({ ...user(['admin'], m.permissionsOf(['admin'])), scopes: 'x' as unknown as string[] }, 'posts:read'), false)
  t.equal(m.grants({ ...user(['admin'], m.permissionsOf(['admin'])), kind: 'application' }, 'posts:read'), false, 'an application without scopes holds none')
  t.equal(m.check(['posts:*'], 'posts:read'), true)
})

t.test('hasRole follows inheritance', async (t) => {
  const m = new RbacModel(compileRoles(ROLES), 100)
  t.equal(m.hasRole(user(['admin'], []), 'user'), true)
  t.equal(m.hasRole(user(['admin'], []), 'admin'), true)
  t.equal(m.hasRole(user(['editor'], []), 'admin'), false)
  t.equal(m.hasRole(user(['ghost'], []), 'ghost'), false, 'an undefined role is not held')
})
