import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { basic, oauthApp, tokenRequest } from './helpers.js'

const cc = { grant_type: 'client_credentials' }

t.test('a created client is listed without any secret or hash, and its secret is stored hashed', async (t) => {
  const { app, events } = await oauthApp()
  t.teardown(() => app.close())
  const repo = app.gatekeeper.store.oauthClients!
  const created = await app.gatekeeper.oauth2!.clients.create({ name: 'billing sync', scopes: ['invoices:read', 'invoices:read'] })
  t.match(created.id, /^cid_[0-9A-Za-z]{24}$/)
  t.match(created.secret, /^gkcs_[0-9A-Za-z]{36}$/)
  t.same(created.scopes, ['invoices:read'], 'duplicate scopes collapse')
  t.equal(created.revokedAt, null)
  const listed = await app.gatekeeper.oauth2!.clients.list()
  t.equal(listed.length, 1)
  t.notOk('secret' in listed[0]! || 'secretHash' in listed[0]! || 'previousSecretHash' in listed[0]!, 'no secret material in listings')
  const stored = await repo.findById(created.id)
  t.match(stored!.secretHash, /^[0-9a-f]{64}$/)
  t.notMatch(JSON.stringify(stored), created.secret, 'the secret itself is not stored')
  t.match(events.find((e) => e.type === 'oauth.client_created'), { clientId: created.id, scopes: ['invoices:read'] })
})

t.test('bad client input is GK_INVALID_REQUEST; unknown ids are GK_NOT_FOUND', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  const clients = app.gatekeeper.oauth2!.clients
  const rows: unknown[] = [null, { name: '', scopes: ['a:b'] }, { name: 'x', scopes: [] }, { name: 'x' }, { name: 'x', scopes: ['no spaces'] }, { name: 'x\n', scopes: 'a:b' }]
  for (const input of rows) {
    await t.rejects(clients.create(input as never), { code: 'GK_INVALID_REQUEST', statusCode: 400 }, JSON.stringify(input))
  }
  await t.rejects(clients.rotate('cid_nope'), { code: 'GK_NOT_FOUND' })
  await t.rejects(clients.revoke('cid_nope'), { code: 'GK_NOT_FOUND' })
  const c = await clients.create({ name: 'x', scopes: ['a:b'] })
  await t.rejects(clients.rotate(c.id, { overlap: '31d' }), { code: 'GK_INVALID_REQUEST' }, 'overlap over 30 days')
  await t.rejects(clients.rotate(c.id, { overlap: 'soon' }), { code: 'GK_INVALID_REQUEST' })
})

t.test('rotation without overlap stops the old secret at once', async (t) => {
  const { app, events } = await oauthApp()
  t.teardown(() => app.close())
  const clients = app.gatekeeper.oauth2!.clients
  const old = await clients.create({ name: 'job', scopes: ['reports:read'] })
  const next = await clients.rotate(old.id)
  t.equal(next.id, old.id)
  t.not(next.secret, old.secret)
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, old.secret) })).statusCode, 401, 'old secret refused')
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, next.secret) })).statusCode, 200, 'new secret works')
  t.match(events.find((e) => e.type === 'oauth.client_rotated'), { clientId: old.id, overlapMs: 0 })
})

t.test('rotation with overlap keeps the old secret working until the overlap ends, then never again', async (t) => {
  const { app, clock } = await oauthApp()
  t.teardown(() => app.close())
  const clients = app.gatekeeper.oauth2!.clients
  const old = await clients.create({ name: 'job', scopes: ['reports:read'] })
  const next = await clients.rotate(old.id, { overlap: '1h' })
  t.equal(next.previousSecretExpiresAt?.getTime(), clock.now + 3_600_000)
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, old.secret) })).statusCode, 200, 'old secret inside the overlap')
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, next.secret) })).statusCode, 200, 'new secret')
  clock.now += 3_600_000
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, old.secret) })).statusCode, 401, 'old secret when the overlap ends')
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, next.secret) })).statusCode, 200, 'new secret still')
  const third = await clients.rotate(old.id)
  t.equal(third.previousSecretExpiresAt, null)
  t.equal((await tokenRequest(app, cc, { authorization: basic(old.id, next.secret) })).statusCode, 401, 'a rotation without overlap drops the previous secret')
})

t.test('revocation is final and idempotent; a revoked client cannot be rotated back to life', async (t) => {
  const { app, events } = await oauthApp()
  t.teardown(() => app.close())
  const clients = app.gatekeeper.oauth2!.clients
  const c = await clients.create({ name: 'job', scopes: ['reports:read'] })
  await clients.rotate(c.id, { overlap: '1h' })
  const revoked = await clients.revoke(c.id)
  t.type(revoked.revokedAt, Date)
  t.equal(revoked.previousSecretExpiresAt, null)
  const again = await clients.revoke(c.id)
  t.same(again.revokedAt, revoked.revokedAt, 'a second revocation changes nothing')
  t.equal(events.filter((e) => e.type === 'oauth.client_revoked').length, 1)
  await t.rejects(clients.rotate(c.id), { code: 'GK_NOT_FOUND' })
  t.equal((await tokenRequest(app, cc, { authorization: basic(c.id, c.secret) })).statusCode, 401)
})

t.test('with a pepper, secret hashes are HMACs: the same secret hashes differently without it', async (t) => {
  const { app } = await oauthApp({ pepper: 'p'.repeat(32), secretPrefix: 'acme' })
  t.teardown(() => app.close())
  const repo = app.gatekeeper.store.oauthClients!
  const c = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read'] })
  t.match(c.secret, /^acme_/)
  const { createHash } = await import('node:crypto')
  t.not((await repo.findById(c.id))!.secretHash, createHash('sha256').update(c.secret).digest('hex'))
  t.equal((await tokenRequest(app, cc, { authorization: basic(c.id, c.secret) })).statusCode, 200)
})

t.test('the plugin refuses bad options with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [{ colour: 'red' }, /unknown oauth2 option 'colour'/],
    [[], /must be an object/],
    [{ clients: {} }, /no 'clients' option: clients live in the store \(store.oauthClients\)/],
    [{ identities: {} }, /no 'identities' option: identity links live in the store \(store.identities\)/],
    [{ pepper: 'short' }, /at least 32 bytes/],
    [{ pepper: 42 }, /string or a Buffer/],
    [{ secretPrefix: 'BAD_' }, /secretPrefix/],
    [{ clientCredentials: 'yes' }, /\{ path \} or false/],
    [{ clientCredentials: { path: 'no-slash' } }, /clientCredentials.path/],
    [{ clientCredentials: { route: '/x' } }, /clientCredentials.route/]
  ]
  for (const [opts, message] of rows) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await app.register((await import('../../lib/jwt/index.js')).jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'i', audience: 'a' })
    app.register(oauth2, opts as never)
    await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message }, JSON.stringify(opts))
    await app.close()
  }
})

t.test('the plugin refuses a store without a complete oauthClients repository', async (t) => {
  const rows: Array<[(s: ReturnType<typeof memoryStore>) => unknown, RegExp]> = [
    [({ oauthClients: _c, ...rest }) => rest, /needs store.oauthClients for the clients of the client-credentials grant: this store has none/],
    [(s) => ({ ...s, oauthClients: { ...s.oauthClients, list: undefined } }), /store.oauthClients.list\(\) is missing/]
  ]
  for (const [strip, message] of rows) {
    const app = Fastify()
    await app.register(gatekeeper, { store: strip(memoryStore()) as never })
    await app.register((await import('../../lib/jwt/index.js')).jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'i', audience: 'a' })
    app.register(oauth2)
    await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message })
    await app.close()
  }
})

t.test('the plugin needs the jwt plugin, and registers at most once', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  app.register(oauth2)
  await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /register the jwt plugin before oauth2/ })

  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(gatekeeper, { store: memoryStore() })
  await twice.register((await import('../../lib/jwt/index.js')).jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'i', audience: 'a' })
  twice.register(oauth2)
  twice.register(oauth2)
  await t.rejects(async () => { await twice.ready() }, { code: 'GK_CONFIG', message: /registered twice/ })
})

t.test('clientCredentials: false registers no token endpoint; a custom path moves it', async (t) => {
  const { app } = await oauthApp({ clientCredentials: false })
  t.teardown(() => app.close())
  t.equal((await tokenRequest(app, cc)).statusCode, 404)
  t.ok(app.gatekeeper.oauth2!.clients, 'clients are still managed')

  const { app: moved } = await oauthApp({ clientCredentials: { path: '/oauth2/token' } })
  t.teardown(() => moved.close())
  const c = await moved.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read'] })
  const res = await moved.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c.id, c.secret) }, payload: 'grant_type=client_credentials' })
  t.equal(res.statusCode, 200)
})
