import t from 'tap'
import { generateKey } from '../../lib/api-key/format.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { FastifyInstance } from 'fastify'
import { harness, spyStore } from './helpers.js'

function routes (app: FastifyInstance): void {
  app.get('/whoami', async (request) => request.auth)
  app.get('/posts', { config: { auth: { permissions: ['posts:read'] } } }, async () => ({ ok: true }))
  app.post('/posts', { config: { auth: { permissions: ['posts:write'] } } }, async () => ({ ok: true }))
  app.post('/comments', { config: { auth: { permissions: ['comments:write'] } } }, async () => ({ ok: true }))
  app.get('/scoped', { config: { auth: { scopes: ['posts:read'] } } }, async () => ({ ok: true }))
}

t.test('a valid key in x-api-key makes the caller an application acting for its owner', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user(['editor'])
  const { key, record } = await h.keys.create({ ownerId: owner, name: 'ci', scopes: ['posts:read'] })
  const res = await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    strategy: 'apiKey', kind: 'application', subject: owner, keyId: record.id, scopes: ['posts:read'], roles: ['editor'], permissions: ['posts:read', 'posts:write']
  })
})

t.test('a key is also read from Authorization: Bearer when it carries the prefix', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const res = await h.app.inject({ url: '/whoami', headers: { authorization: `${scheme} ${key}` } })
    t.equal(res.statusCode, 200, scheme)
    t.equal(res.json().strategy, 'apiKey')
  }
  const person = await h.user(['reader'])
  const res = await h.app.inject({ url: '/whoami', headers: { authorization: `Bearer user:${person}` } })
  t.equal(res.json().strategy, 'jwt', 'a Bearer token without the prefix is left to other strategies')
})

t.test('with bearer: false only the header carries keys', async (t) => {
  const h = await harness(t, { bearer: false, header: 'X-Service-Key' }, memoryStore(), routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  t.equal((await h.app.inject({ url: '/whoami', headers: { authorization: `Bearer ${key}` } })).statusCode, 401)
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-service-key': key } })).statusCode, 200)
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })).statusCode, 401, 'the default header is not read')
})

t.test('bad keys all get the same 401 body; no key at all gets a plain challenge', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const owner = await h.user()
  const live = await h.keys.create({ ownerId: owner, name: 'live', expiresIn: '1h' })
  const revoked = await h.keys.create({ ownerId: owner, name: 'revoked' })
  await h.keys.revoke(revoked.record.id)
  const expired = await h.keys.create({ ownerId: owner, name: 'expired', expiresIn: '1m' })
  const disabledOwner = await h.user()
  const ofDisabled = await h.keys.create({ ownerId: disabledOwner, name: 'x' })
  await h.store.users.update(disabledOwner, { disabled: true })
  const goneOwner = await h.user()
  const ofGone = await h.keys.create({ ownerId: goneOwner, name: 'x' })
  await h.store.users.delete(goneOwner)
  h.clock.now += 61_000

  const bad: Array<[string, Record<string, string>]> = [
    ['a typo (checksum)', { 'x-api-key': `${live.key.slice(0, 10)}${live.key[10] === 'a' ? 'b' : 'a'}${live.key.slice(11)}` }],
    ['unknown', { 'x-api-key': generateKey('gk') }],
    ['revoked', { 'x-api-key': revoked.key }],
    ['expired', { 'x-api-key': expired.key }],
    ['owner disabled', { 'x-api-key': ofDisabled.key }],
    ['owner deleted', { 'x-api-key': ofGone.key }],
    ['another prefix', { 'x-api-key': generateKey('acme') }],
    ['empty header', { 'x-api-key': '' }],
    ['garbage', { 'x-api-key': 'hello' }],
    ['a bearer key with a typo', { authorization: `Bearer ${live.key.slice(0, -1)}` }]
  ]
  const bodies = new Set<string>()
  for (const [what, headers] of bad) {
    const res = await h.app.inject({ url: '/whoami', headers })
    t.equal(res.statusCode, 401, what)
    t.equal(res.json().code, 'GK_TOKEN_INVALID', what)
    t.equal(res.headers['www-authenticate'], 'ApiKey realm="api", error="invalid_token"', what)
    bodies.add(res.body)
  }
  t.equal(bodies.size, 1, 'one body for every kind of bad key')

  const none = await h.app.inject({ url: '/whoami' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'GK_UNAUTHORIZED')
  t.match(none.headers['www-authenticate'], /ApiKey realm="api"/)
  t.equal((await h.app.inject({ url: '/whoami', headers: { 'x-api-key': live.key } })).statusCode, 200, 'the live key still works')
})

t.test('a key whose checksum fails never reaches the store', async (t) => {
  const spy = spyStore(memoryStore())
  const h = await harness(t, {}, spy.store, routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  spy.calls.length = 0
  for (let i = 3; i < key.length; i++) {
    const typo = key.slice(0, i) + (key[i] === 'Z' ? 'Y' : 'Z') + key.slice(i + 1)
    const res = await h.app.inject({ url: '/whoami', headers: { 'x-api-key': typo } })
    t.equal(res.statusCode, 401)
  }
  t.same(spy.calls, [], 'no store call for any typo')
  await h.app.inject({ url: '/whoami', headers: { 'x-api-key': generateKey('gk') } })
  t.same(spy.calls.map((c) => c.method), ['apiKeys.findByHash'], 'a well-formed unknown key costs one lookup')
})

t.test('a key in the query string is refused, even beside a valid header', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  for (const url of [`/whoami?api_key=${key}`, `/whoami?x=1&key=${key}`]) {
    const res = await h.app.inject({ url, headers: { 'x-api-key': key } })
    t.equal(res.statusCode, 400, url.replace(key, '<key>'))
    t.equal(res.json().code, 'GK_INVALID_REQUEST')
    t.notMatch(res.body, key)
  }
  t.equal((await h.app.inject({ url: '/whoami?q=gk_notakey', headers: { 'x-api-key': key } })).statusCode, 200, 'a look-alike is fine')
})

t.test('effective permissions are the key scopes intersected with the owner permissions', async (t) => {
  const h = await harness(t, {}, memoryStore(), routes)
  const editor = await h.user(['editor'])
  const { key } = await h.keys.create({ ownerId: editor, name: 'reader key', scopes: ['posts:read', 'comments:write'] })
  const headers = { 'x-api-key': key }
  const rows: Array<[string, string, number, string]> = [
    ['GET', '/posts', 200, 'in scope and granted to the owner'],
    ['POST', '/posts', 403, 'granted to the owner but not in scope'],
    ['POST', '/comments', 403, 'in scope but not granted to the owner']
  ]
  for (const [method, url, status, why] of rows) {
    const res = await h.app.inject({ method: method as 'GET', url, headers })
    t.equal(res.statusCode, status, why)
    if (status === 403) t.equal(res.json().code, 'GK_FORBIDDEN')
  }
  const admin = await h.keys.create({ ownerId: await h.user(['admin']), name: 'all', scopes: ['*'] })
  t.equal((await h.app.inject({ method: 'POST', url: '/comments', headers: { 'x-api-key': admin.key } })).statusCode, 200, '* ∩ * grants')
  const unscoped = await h.keys.create({ ownerId: editor, name: 'none' })
  t.equal((await h.app.inject({ url: '/posts', headers: { 'x-api-key': unscoped.key } })).statusCode, 403, 'a key without scopes can do nothing that needs a permission')
  t.equal((await h.app.inject({ url: '/scoped', headers })).statusCode, 200, 'a route scope is checked against the key scopes')
  t.equal((await h.app.inject({ url: '/scoped', headers: { 'x-api-key': unscoped.key } })).statusCode, 403)
})

t.test('only hashes reach the store: the plaintext is in no argument and no record', async (t) => {
  const spy = spyStore(memoryStore())
  const h = await harness(t, { pepper: 'a-pepper-of-at-least-32-bytes-long!!' }, spy.store, routes)
  const owner = await h.user()
  const { key, record } = await h.keys.create({ ownerId: owner, name: 'ci' })
  await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })
  const rotated = await h.keys.rotate(record.id, { overlap: '1h' })
  await h.app.inject({ url: '/whoami', headers: { 'x-api-key': rotated.key } })
  const secretPart = key.slice(3, 33)
  const seen = JSON.stringify(spy.calls)
  t.notMatch(seen, secretPart, 'no store call carried the key')
  t.notMatch(seen, rotated.key.slice(3, 33))
  const raw = await h.store.apiKeys.listByOwner(owner)
  t.equal(raw.length, 2)
  const dump = JSON.stringify(raw)
  t.notMatch(dump, secretPart, 'no stored record holds the key')
  for (const r of raw) {
    t.match(r.hash, /^[0-9a-f]{64}$/)
    t.equal(r.start.length, 7)
  }
  t.equal(raw[0]?.start, key.slice(0, 7), 'the visible start is the prefix and four characters')
  t.notOk('hash' in record, 'the returned record has no hash')
  t.notMatch(JSON.stringify(h.events), secretPart, 'no audit event carries the key')
})

t.test('a store that matches hashes loosely cannot let a near-miss in (constant-time comparison)', async (t) => {
  const inner = memoryStore()
  const sloppy = spyStore(inner).store
  let planted: Awaited<ReturnType<typeof inner.apiKeys.findById>> = null
  sloppy.apiKeys.findByHash = async () => planted
  const h = await harness(t, {}, sloppy, routes)
  const { record } = await h.keys.create({ ownerId: await h.user(), name: 'victim' })
  planted = await inner.apiKeys.findById(record.id)
  const res = await h.app.inject({ url: '/whoami', headers: { 'x-api-key': generateKey('gk') } })
  t.equal(res.statusCode, 401, 'the returned record hash must equal the presented key hash')
  t.equal(h.keys.cacheSize, 0)
})

t.test('a store failure answers 503, never 500 and never a pass', async (t) => {
  const store = memoryStore()
  const h = await harness(t, {}, store, routes)
  const { key } = await h.keys.create({ ownerId: await h.user(), name: 'ci' })
  store.apiKeys.findByHash = async () => { throw new Error('connection reset') }
  const res = await h.app.inject({ url: '/whoami', headers: { 'x-api-key': key } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GK_STORE_UNAVAILABLE')
  await t.rejects(h.keys.verify(key), { code: 'GK_STORE_UNAVAILABLE' }, 'verify throws store failures rather than answering null')
})
