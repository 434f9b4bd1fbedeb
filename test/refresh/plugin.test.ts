import t from 'tap'
import Fastify from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { refresh } from '../../lib/refresh/index.js'
import { hashToken } from '../../lib/refresh/token.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { createUser, login, refreshApp, refreshWith } from './helpers.js'

t.test('the plugin refuses to start without the jwt plugin', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await t.rejects(async () => { await app.register(refresh, {}) }, { code: 'GK_CONFIG', message: /register the jwt plugin before refresh/ })
})

t.test('the plugin refuses to start with a bad option or twice', async (t) => {
  await t.rejects(refreshApp({ refresh: { reuseGrace: '5s' } }), { code: 'GK_CONFIG', message: /needs a secret/ })
  await t.rejects(refreshApp({ setup: async (app) => { await app.register(refresh, {}) } }), { code: 'GK_CONFIG', message: /registered twice/ })
})

t.test('the refresh route is public to the core; the session routes are protected', async (t) => {
  const { app } = await refreshApp()
  t.teardown(() => app.close())
  const routes = app.gatekeeper.routes()
  t.match(routes.find((r) => r.url === '/api/token/refresh'), { method: 'POST', public: true, explicit: true })
  t.match(routes.find((r) => r.url === '/api/sessions' && r.method === 'GET'), { public: false })
  t.match(routes.find((r) => r.url === '/api/sessions/:id'), { method: 'DELETE', public: false })
  t.match(routes.find((r) => r.url === '/api/logout/all'), { method: 'POST', public: false })
  t.equal(routes.filter((r) => r.url === '/api/logout').length, 1, 'logout stays the jwt plugin\'s only')
})

t.test('the API opens, lists and revokes sessions without HTTP', async (t) => {
  const { app, clock } = await refreshApp()
  t.teardown(() => app.close())
  const id = await createUser(app)
  const api = app.gatekeeper.refresh!
  const opened = await api.start(id)
  t.match(opened, { refreshToken: /^[A-Za-z0-9_-]{43}$/, sessionId: String, expiresIn: 7 * 86_400 })
  t.match(await api.sessions(id, opened.sessionId), [{ id: opened.sessionId, ip: null, userAgent: null, current: true }])
  t.equal((await refreshWith(app, opened.refreshToken)).statusCode, 200)
  await api.start(id)
  t.equal(await api.revokeAll(id), 2)
  t.same(await api.sessions(id), [])
  t.ok(clock.now)
})

t.test('purge on demand deletes expired tokens at the injected time', async (t) => {
  const { app, clock, store } = await refreshApp({ refresh: { ttl: '2d', idleTtl: '1d', purgeInterval: false } })
  t.teardown(() => app.close())
  await createUser(app)
  const { body } = await login(app)
  const hash = hashToken(body.refreshToken)
  t.equal(await app.gatekeeper.refresh!.purge(), 0)
  t.not(await store.refreshTokens.findByHash(hash), null)
  clock.now += 86_400_000
  t.equal(await app.gatekeeper.refresh!.purge(), 1)
  t.equal(await store.refreshTokens.findByHash(hash), null)
})

t.test('the purge timer runs once the app is ready', async (t) => {
  const { app, clock, store } = await refreshApp({ refresh: { ttl: '2d', idleTtl: '1d', purgeInterval: '1s' } })
  t.teardown(() => app.close())
  await createUser(app)
  const { body } = await login(app)
  const hash = hashToken(body.refreshToken)
  clock.now += 86_400_000
  // Generous: the timer fires every second; give it up to ten.
  for (let i = 0; i < 100 && await store.refreshTokens.findByHash(hash) !== null; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(await store.refreshTokens.findByHash(hash), null)
})
