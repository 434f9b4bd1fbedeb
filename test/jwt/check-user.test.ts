import Fastify from 'fastify'
import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { rbac } from '../../lib/rbac/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore, UserRepository } from '../../lib/stores/types.js'
import { AUDIENCE, ISSUER, jwtApp, loginAs, SECRET } from './helpers.js'

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** A memory store whose `users.findById` calls are counted (and can be made to fail). */
function countingStore (): { store: GatekeeperStore, lookups: () => number, fail: (on: boolean) => void } {
  const store = memoryStore()
  let n = 0
  let failing = false
  const users: UserRepository = {
    ...store.users,
    findById: async (id) => {
      n++
      if (failing) throw new errors.GK_STORE_UNAVAILABLE()
      return await store.users.findById(id)
    }
  }
  return { store: { ...store, users }, lookups: () => n, fail: (on) => { failing = on } }
}

t.test('without checkUser a disabled user\'s access token works until it expires (the documented default)', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app)
  await app.gatekeeper.users.disable(id)
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
})

t.test('with checkUser a disabled user\'s token is refused at once: 401 GK_TOKEN_INVALID with an invalid_token challenge', async (t) => {
  const { app } = await jwtApp({ checkUser: true })
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app)
  const { token: other } = await loginAs(app, 'bob')
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'works before, and is now cached')
  await app.gatekeeper.users.disable(id)
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_TOKEN_INVALID')
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
  t.equal((await app.inject({ url: '/me', headers: bearer(other) })).statusCode, 200, 'another user is not affected')
})

t.test('with checkUser a deleted user\'s token is refused, and a token for a subject the store never had', async (t) => {
  const { app } = await jwtApp({ checkUser: { cacheTtl: 0 } })
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app)
  await app.gatekeeper.store.users.delete(id)
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 401)
  const forged = app.gatekeeper.tokens.issue({ id: 'no-such-user', roles: ['admin'] } as never)
  t.equal((await app.inject({ url: '/me', headers: bearer((await forged).accessToken) })).statusCode, 401)
})

t.test('with checkUser the request carries the user\'s current roles, not the token\'s: a demotion takes effect at once', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, checkUser: true })
  await app.register(rbac, { roles: { admin: { permissions: ['*'] }, user: { permissions: ['posts:read'] } } })
  app.get('/admin', { config: { auth: { permissions: ['users:delete'] } } }, async (req) => ({ roles: req.auth?.roles, permissions: req.auth?.permissions }))
  app.get('/me', async (req) => ({ roles: req.auth?.roles, claimed: req.auth?.claims?.roles }))
  const { token, id } = await loginAs(app, 'alice', ['admin'])
  t.same((await app.inject({ url: '/admin', headers: bearer(token) })).json(), { roles: ['admin'], permissions: ['*'] })
  await app.gatekeeper.users.setRoles(id, ['user'])
  const res = await app.inject({ url: '/admin', headers: bearer(token) })
  t.equal(res.statusCode, 403, 'the old admin token no longer grants admin')
  t.equal(res.json().code, 'GK_FORBIDDEN')
  t.same((await app.inject({ url: '/me', headers: bearer(token) })).json(), { roles: ['user'], claimed: ['admin'] }, 'the token still says admin; the request does not')
})

t.test('store answers are cached per user for cacheTtl; changes made elsewhere show once it runs out', async (t) => {
  const { store, lookups } = countingStore()
  const { app, clock } = await jwtApp({ checkUser: { cacheTtl: '5s' } }, { store })
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app)
  const before = lookups()
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  t.equal(lookups() - before, 1, 'five requests, one lookup')
  // Another instance disables the user: only the store changes here.
  await store.users.update(id, { disabled: true })
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'still cached')
  clock.now += 5000
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 401, 'refused once cacheTtl ran out')
  t.equal(lookups() - before, 2)
})

t.test('cacheTtl 0 asks the store on every request; concurrent requests of one user share one lookup', async (t) => {
  const { store, lookups } = countingStore()
  const { app } = await jwtApp({ checkUser: { cacheTtl: 0 } }, { store })
  t.teardown(() => app.close())
  const { token } = await loginAs(app)
  let before = lookups()
  for (let i = 0; i < 3; i++) await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(lookups() - before, 3)
  before = lookups()
  const all = await Promise.all(Array.from({ length: 20 }, () => app.inject({ url: '/me', headers: bearer(token) })))
  t.ok(all.every((r) => r.statusCode === 200))
  t.ok(lookups() - before < 20, `20 concurrent requests made ${lookups() - before} lookups`)
})

t.test('a store that cannot answer fails the request closed: 503 GK_STORE_UNAVAILABLE, never let in', async (t) => {
  const { store, fail } = countingStore()
  const { app } = await jwtApp({ checkUser: { cacheTtl: 0 } }, { store })
  t.teardown(() => app.close())
  const { token } = await loginAs(app)
  fail(true)
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GK_STORE_UNAVAILABLE')
  fail(false)
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'and recovers')
})

t.test('application tokens (no user behind them) are not looked up', async (t) => {
  const { store, lookups } = countingStore()
  const { app } = await jwtApp({ checkUser: true }, { store })
  t.teardown(() => app.close())
  const { accessToken } = await app.gatekeeper.tokens.issue({ id: 'cid_job', roles: [] } as never, { kind: 'application', scopes: ['reports:read'] } as never)
  const before = lookups()
  const res = await app.inject({ url: '/me', headers: bearer(accessToken) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().kind, 'application')
  t.equal(lookups(), before)
})

t.test('the cookie transport is checked the same way', async (t) => {
  const { app } = await jwtApp({ checkUser: true, cookie: {} })
  t.teardown(() => app.close())
  const { token, id } = await loginAs(app)
  t.equal((await app.inject({ url: '/me', headers: { cookie: `__Host-gk_access=${token}` } })).statusCode, 200)
  await app.gatekeeper.users.disable(id)
  t.equal((await app.inject({ url: '/me', headers: { cookie: `__Host-gk_access=${token}` } })).statusCode, 401)
})

t.test('checkUser options are validated', async (t) => {
  for (const [value, message] of [
    ['yes', /checkUser \(true, false or \{ cacheTtl \}\) must be an object/],
    [{ ttl: '5s' }, /unknown option checkUser.ttl/],
    [{ cacheTtl: '10m' }, /checkUser.cacheTtl must be between 0ms and 5m/]
  ] as const) {
    await t.rejects(jwtApp({ checkUser: value as never }), { code: 'GK_CONFIG', message }, JSON.stringify(value))
  }
})

t.test('the per-user cache holds at most 10,000 users, dropping the oldest first', async (t) => {
  const { UserCheck } = await import('../../lib/jwt/user-check.js')
  let lookups = 0
  const gk = {
    now: () => 0,
    permissionsOf: () => [],
    store: { users: { findById: async (id: string) => { lookups++; return { id, roles: ['user'], disabled: false } } } }
  }
  const check = new UserCheck(gk as never, 60_000, 'https://issuer.test')
  const ctx = (subject: string): never => ({ strategy: 'jwt', kind: 'user', subject, roles: ['user'], permissions: [] }) as never
  for (let i = 0; i <= 10_000; i++) await check.check(ctx(`u${i}`))
  t.equal(lookups, 10_001)
  t.equal((check.check(ctx('u10000')) as { subject: string }).subject, 'u10000', 'the newest is answered synchronously from the cache')
  t.equal(lookups, 10_001)
  await check.check(ctx('u0'))
  t.equal(lookups, 10_002, 'the oldest was dropped and is looked up again')
})
