import t from 'tap'
import { canonical, coveringKeys, grantProblem, parseGrant, requirementProblem } from '../../lib/rbac/permission.js'
import { compileGrants, intersect, matchKeys, Matcher, BoundedCache } from '../../lib/rbac/match.js'

t.test('a grant in a role definition is *, resource:action or resource:action:own', async (t) => {
  const rows: Array<[unknown, RegExp | null]> = [
    ['*', null],
    ['posts:read', null],
    ['posts:*', null],
    ['*:read', null],
    ['*:*', null],
    ['posts:update:own', null],
    ['*:*:own', null],
    ['blog-posts.v2:re_index', null],
    ['posts', /resource:action/],
    ['', /empty/],
    [42, /string/],
    ['posts:read:all', /only be ':own'/],
    ['a:b:own:x', /at most three/],
    ['posts:', /segment/],
    [':read', /segment/],
    ['post*:read', /partial wildcards/],
    ['posts:re ad', /segment/],
    ['posts:own', /ambiguous.*posts:\*:own/],
    ['posts:rea\u0000d', /segment/],
    ['p:' + 'x'.repeat(200), /at most 128/]
  ]
  for (const [input, problem] of rows) {
    const got = grantProblem(input)
    if (problem === null) t.equal(got, null, `${JSON.stringify(input)} is valid`)
    else t.match(got, problem, `${JSON.stringify(input)} is refused`)
  }
})

t.test('grants parse to a canonical key; *:* is *', async (t) => {
  t.same(parseGrant('posts:read'), { key: 'posts:read', own: false })
  t.same(parseGrant('*:*'), { key: '*', own: false })
  t.same(parseGrant('*:*:own'), { key: '*', own: true })
  t.same(parseGrant('read'), { key: 'read', own: false }, 'a bare scope token is a literal')
  t.equal(parseGrant('posts:own'), null)
  t.equal(parseGrant('bad token'), null)
  t.equal(parseGrant(''), null)
  t.equal(parseGrant(undefined as unknown as string), null)
  t.equal(canonical({ key: '*', own: true }), '*:*:own')
  t.equal(canonical({ key: 'posts:update', own: true }), 'posts:update:own')
  t.equal(canonical({ key: 'posts:*', own: false }), 'posts:*')
})

t.test('a requested permission is covered by itself, its resource wildcard, its action wildcard and *', async (t) => {
  t.same(coveringKeys('posts:update'), ['posts:update', 'posts:*', '*:update', '*'])
  t.same(coveringKeys('posts:*'), ['posts:*', '*'])
  t.same(coveringKeys('*:read'), ['*:read', '*'])
  t.same(coveringKeys('*'), ['*'])
  t.same(coveringKeys('read'), ['read', '*'])
  t.equal(coveringKeys('posts:update:own'), null, 'ownership is the route\'s business, not the request\'s')
  t.equal(coveringKeys('po*ts:read'), null)
  t.equal(coveringKeys(''), null)
  t.equal(coveringKeys(7 as unknown as string), null)
})

t.test('routes require resource:action or *; scopes may also be bare tokens', async (t) => {
  t.equal(requirementProblem('posts:read', false), null)
  t.equal(requirementProblem('posts:*', false), null)
  t.equal(requirementProblem('*', false), null)
  t.match(requirementProblem('posts', false), /not 'resource:action'/)
  t.equal(requirementProblem('posts', true), null)
  t.match(requirementProblem('posts:update:own', false), /requires the action \('posts:update'\).*owner resolver/)
  t.match(requirementProblem('a b', true), /not 'resource:action'/)
})

function covers (granted: string[], permission: string): boolean | 'own' {
  return new Matcher(10).check(granted, permission)
}

t.test('wildcard edge cases', async (t) => {
  const rows: Array<[string[], string, boolean | 'own']> = [
    [['posts:*'], 'posts:read', true],
    [['posts:*'], 'postsx:read', false],
    [['posts:*'], 'post:read', false],
    [['posts:*'], 'comments:read', false],
    [['posts:read'], 'posts:reader', false],
    [['*:read'], 'posts:read', true],
    [['*:read'], 'comments:read', true],
    [['*:read'], 'posts:update', false],
    [['*:read'], 'posts:readx', false],
    [['*'], 'anything:at-all', true],
    [['*:*'], 'anything:at-all', true],
    [['*'], 'read', true],
    [['posts:*'], 'posts:*', true],
    [['posts:read'], 'posts:*', false],
    [['*:read'], '*', false],
    [['*'], '*', true],
    [['posts:update:own'], 'posts:update', 'own'],
    [['posts:*:own'], 'posts:delete', 'own'],
    [['*:*:own'], 'users:delete', 'own'],
    [['posts:update:own', 'posts:*'], 'posts:update', true],
    [['posts:update:own'], 'posts:update:own', false],
    [['Posts:read'], 'posts:read', false],
    [['read'], 'read', true],
    [['read'], 'posts:read', false],
    [['posts:read'], 'read', false],
    [['posts:own', 'not valid'], 'posts:own', false],
    [[], 'posts:read', false]
  ]
  for (const [granted, permission, expected] of rows) {
    t.equal(covers(granted, permission), expected, `${JSON.stringify(granted)} -> ${permission}`)
  }
})

t.test('an application is granted only what both its owner and its scopes grant', async (t) => {
  t.equal(intersect(true, true), true)
  t.equal(intersect(true, 'own'), 'own')
  t.equal(intersect('own', true), 'own')
  t.equal(intersect('own', 'own'), 'own')
  t.equal(intersect(true, false), false)
  t.equal(intersect(false, true), false)
  const set = compileGrants(['posts:read', 'bad one'])
  t.equal(set.any.size, 1)
  t.equal(matchKeys(set, null), false)
})

t.test('the matcher caches compiled lists by identity and tolerates non-arrays', async (t) => {
  const m = new Matcher(10)
  const list = ['posts:read']
  t.equal(m.setOf(list), m.setOf(list))
  t.not(m.setOf(list), m.setOf([...list]))
  t.equal(m.check('nope' as unknown as string[], 'posts:read'), false)
})

t.test('a bounded cache drops its least recently used entry', async (t) => {
  const c = new BoundedCache<number>(2)
  c.set('a', 1)
  c.set('b', 2)
  t.equal(c.get('a'), 1)
  c.set('c', 3)
  t.equal(c.size, 2)
  t.equal(c.get('b'), undefined, 'b was the least recently used')
  t.equal(c.get('a'), 1)
  t.equal(c.get('c'), 3)
  c.set('c', 4)
  t.equal(c.size, 2)
  t.equal(c.get('c'), 4)
})
