import t from 'tap'
import { memoryStore } from '../../lib/stores/memory.js'
import { harness, type Harness } from './helpers.js'

interface Cast { h: Harness, alice: string, bob: string, admin: string, aliceKey: { key: string, id: string }, bobKey: { key: string, id: string } }

async function cast (t: Parameters<typeof harness>[0]): Promise<Cast> {
  const h = await harness(t, {}, memoryStore())
  const alice = await h.user(['editor'], 'alice')
  const bob = await h.user(['editor'], 'bob')
  const admin = await h.user(['keymaster'], 'admin')
  const a = await h.keys.create({ ownerId: alice, name: 'alice ci', scopes: ['apikeys:manage'] })
  const b = await h.keys.create({ ownerId: bob, name: 'bob ci' })
  return { h, alice, bob, admin, aliceKey: { key: a.key, id: a.record.id }, bobKey: { key: b.key, id: b.record.id } }
}

const as = (id: string): Record<string, string> => ({ authorization: `Bearer user:${id}` })

t.test('a user creates a key for themself and sees the plaintext once', async (t) => {
  const { h, alice } = await cast(t)
  const res = await h.app.inject({ method: 'POST', url: '/api/keys', headers: as(alice), payload: { name: 'deploy', scopes: ['posts:read'], expiresIn: '90d' } })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body.key, /^gk_[0-9A-Za-z]{36}$/)
  t.match(body.record, { ownerId: alice, name: 'deploy', scopes: ['posts:read'], start: body.key.slice(0, 7), revokedAt: null })
  t.notOk('hash' in body.record)
  t.equal(new Date(body.record.expiresAt).getTime(), h.clock.now + 90 * 86_400_000)
  t.equal((await h.app.inject({ url: '/api/keys', headers: { 'x-api-key': body.key } })).statusCode, 403, 'the new key works, and still cannot list keys')

  const list = await h.app.inject({ url: '/api/keys', headers: as(alice) })
  t.equal(list.statusCode, 200)
  const keys = list.json().keys as Array<Record<string, unknown>>
  t.same(keys.map((k) => k.name), ['alice ci', 'deploy'])
  t.notMatch(list.body, body.key.slice(3, 33), 'the list never shows a key')
  for (const k of keys) t.notOk('hash' in k, 'nor a hash')
})

t.test('access rules of the management routes', async (t) => {
  const { h, alice, bob, admin, aliceKey, bobKey } = await cast(t)
  const rows: Array<[string, 'GET' | 'POST' | 'DELETE', () => string, Record<string, string>, unknown, number, string | null]> = [
    ['nobody cannot list', 'GET', () => '/api/keys', {}, undefined, 401, 'GK_UNAUTHORIZED'],
    ['nobody cannot create', 'POST', () => '/api/keys', {}, { name: 'x' }, 401, 'GK_UNAUTHORIZED'],
    ['an API key cannot create keys, even with the manage scope', 'POST', () => '/api/keys', { 'x-api-key': aliceKey.key }, { name: 'x' }, 403, 'GK_FORBIDDEN'],
    ['an API key cannot list keys', 'GET', () => '/api/keys', { 'x-api-key': aliceKey.key }, undefined, 403, 'GK_FORBIDDEN'],
    ['an API key cannot revoke keys', 'DELETE', () => `/api/keys/${bobKey.id}`, { 'x-api-key': aliceKey.key }, undefined, 403, 'GK_FORBIDDEN'],
    ['an API key cannot rotate itself', 'POST', () => `/api/keys/${aliceKey.id}/rotate`, { 'x-api-key': aliceKey.key }, {}, 403, 'GK_FORBIDDEN'],
    ["alice cannot revoke bob's key: it does not exist for her", 'DELETE', () => `/api/keys/${bobKey.id}`, as(alice), undefined, 404, 'GK_NOT_FOUND'],
    ["alice cannot rotate bob's key", 'POST', () => `/api/keys/${bobKey.id}/rotate`, as(alice), {}, 404, 'GK_NOT_FOUND'],
    ['an unknown id is 404 like another user\'s', 'DELETE', () => '/api/keys/no-such-key', as(alice), undefined, 404, 'GK_NOT_FOUND'],
    ["alice cannot list bob's keys", 'GET', () => `/api/keys?ownerId=${bob}`, as(alice), undefined, 403, 'GK_FORBIDDEN'],
    ['alice cannot create a key for bob', 'POST', () => '/api/keys', as(alice), { name: 'x', ownerId: bob }, 403, 'GK_FORBIDDEN'],
    ["the manager lists bob's keys", 'GET', () => `/api/keys?ownerId=${bob}`, as(admin), undefined, 200, null],
    ['the manager creates a key for bob', 'POST', () => '/api/keys', as(admin), { name: 'for bob', ownerId: bob }, 201, null],
    ["the manager rotates bob's key", 'POST', () => `/api/keys/${bobKey.id}/rotate`, as(admin), { overlap: '1h' }, 201, null],
    ["the manager revokes bob's key", 'DELETE', () => `/api/keys/${bobKey.id}`, as(admin), undefined, 204, null],
    ['bob revokes his own key (again: idempotent)', 'DELETE', () => `/api/keys/${bobKey.id}`, as(bob), undefined, 204, null]
  ]
  for (const [what, method, url, headers, payload, status, code] of rows) {
    const res = await h.app.inject({ method, url: url(), headers, ...(payload === undefined ? {} : { payload: payload as object }) })
    t.equal(res.statusCode, status, what)
    if (code !== null) t.equal(res.json().code, code, what)
  }
  t.equal(await h.keys.verify(bobKey.key), null, "bob's key is revoked")
  t.ok(h.events.some((e) => e.type === 'access.denied' && e.keyId === aliceKey.id), 'refusing an API key is audited')
})

t.test('rotation through the route returns the new key once and keeps the old one for the overlap', async (t) => {
  const { h, alice, aliceKey } = await cast(t)
  const res = await h.app.inject({ method: 'POST', url: `/api/keys/${aliceKey.id}/rotate`, headers: as(alice), payload: { overlap: '10m' } })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { key: /^gk_/, record: { ownerId: alice, name: 'alice ci' }, previous: { id: aliceKey.id } })
  t.notOk('hash' in body.previous)
  t.equal(new Date(body.previous.expiresAt).getTime(), h.clock.now + 600_000)
  const noBody = await h.app.inject({ method: 'POST', url: `/api/keys/${body.record.id}/rotate`, headers: as(alice) })
  t.equal(noBody.statusCode, 201, 'the body is optional')
  const again = await h.app.inject({ method: 'POST', url: `/api/keys/${body.record.id}/rotate`, headers: as(alice) })
  t.equal(again.statusCode, 409, 'a key rotated without overlap is expired and cannot be rotated again')
  const bad = await h.app.inject({ method: 'POST', url: `/api/keys/${noBody.json().record.id}/rotate`, headers: as(alice), payload: { overlap: 'later' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'GK_INVALID_REQUEST')
})

t.test('bad input to the routes is 400 GK_INVALID_REQUEST', async (t) => {
  const { h, alice } = await cast(t)
  const rows: Array<[unknown, string]> = [
    [{}, 'no name'],
    [{ name: '' }, 'an empty name'],
    [{ name: 'x'.repeat(101) }, 'a long name'],
    [{ name: 'x', scopes: { posts: 'read' } }, 'scopes not a list'],
    [{ name: 'x', scopes: ['posts read'] }, 'a bad scope'],
    [{ name: 'x', expiresIn: 'whenever' }, 'a bad duration'],
    [{ name: 'x', expiresIn: { days: 3 } }, 'an object duration'],
    [{ name: 'x', rateLimit: { max: 5 } }, 'a rate limit without window']
  ]
  for (const [payload, what] of rows) {
    const res = await h.app.inject({ method: 'POST', url: '/api/keys', headers: as(alice), payload: payload as object })
    t.equal(res.statusCode, 400, what)
    t.equal(res.json().code, 'GK_INVALID_REQUEST', what)
  }
  t.equal((await h.app.inject({ method: 'POST', url: `/api/keys/${'x'.repeat(300)}/rotate`, headers: as(alice) })).statusCode, 414, 'an oversized id is refused by the router (maxParamLength), never a 500')
  t.equal((await h.app.inject({ method: 'POST', url: '/api/keys/x/rotate', headers: { ...as(alice), 'content-type': 'application/json' }, payload: '[1]' })).statusCode, 400, 'an array body')
})

t.test('routes: false registers no route; routes.prefix moves them', async (t) => {
  const off = await harness(t, { routes: false }, memoryStore())
  t.same(off.app.gatekeeper.routes().filter((r) => r.url.startsWith('/api/keys')), [])
  const moved = await harness(t, { routes: { prefix: '/admin/credentials', permission: 'keys:admin' } }, memoryStore())
  const urls = moved.app.gatekeeper.routes().map((r) => `${r.method} ${r.url}`)
  t.ok(urls.includes('POST /admin/credentials'))
  t.ok(urls.includes('DELETE /admin/credentials/:id'))
  t.ok(urls.includes('POST /admin/credentials/:id/rotate'))
  const keymaster = await moved.user(['keymaster'])
  const other = await moved.user(['editor'])
  t.equal((await moved.app.inject({ url: `/admin/credentials?ownerId=${other}`, headers: as(keymaster) })).statusCode, 403, 'the permission is the configured one')
})

t.test('a store failure behind a management route is 503, not 500', async (t) => {
  const store = memoryStore()
  const h = await harness(t, {}, store)
  const alice = await h.user()
  const { record } = await h.keys.create({ ownerId: alice, name: 'k' })
  store.apiKeys.findById = async () => { throw new Error('timeout') }
  store.apiKeys.listByOwner = async () => { throw new Error('timeout') }
  for (const [method, url] of [['DELETE', `/api/keys/${record.id}`], ['POST', `/api/keys/${record.id}/rotate`], ['GET', '/api/keys']] as const) {
    const res = await h.app.inject({ method, url, headers: as(alice) })
    t.equal(res.statusCode, 503, `${method} ${url}`)
    t.equal(res.json().code, 'GK_STORE_UNAVAILABLE')
  }
})
