import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { assertAllRoutesProtected } from '../../lib/testing/index.js'
import { capture } from '../helpers.js'
import { AUDIENCE, auditSweep, bearer, capturedLogger, ISSUER, remember, SECRET } from './helpers.js'

// The attack surface: routes registered before the core plugin. The core's
// onRoute hook never sees them, so they escaped routes(), strict mode and
// assertAllRoutesProtected(), and a mistyped strategy name on one of them
// became a 500 on every request whose message showed the configuration.

/** An app whose routes `early` adds before the core is registered. */
async function appWith (early: (app: FastifyInstance) => void, core: Record<string, unknown> = {}, logger: Record<string, unknown> = capturedLogger()): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  early(app)
  await app.register(gatekeeper, { store: memoryStore(), ...core })
  await app.register(jwt, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE })
  app.get('/late', { config: { auth: 'jwt' } }, async () => 'late')
  return app
}

t.test('strict mode refuses to start while a route predates the core', async (t) => {
  const app = await appWith((a) => { a.get('/early', { config: { auth: 'jwt' } }, async () => 'x') }, { strict: true })
  await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /strict mode: 2 route\(s\) were registered before the gatekeeper plugin \(GET \/early, HEAD \/early\)/ })
  const fine = await appWith(() => {}, { strict: true })
  await t.resolves(async () => { await fine.ready() }, 'control: the same app with the route after the core starts')
  await fine.close()
})

t.test('routes() lists every route of Fastify\'s table, early ones marked', async (t) => {
  const app = await appWith((a) => {
    a.get('/early', async () => 'x')
    a.post('/early/:id', { config: { auth: false } }, async () => 'x')
    a.register(async (child) => { child.get('/', async () => 'x') }, { prefix: '/child' })
  })
  t.teardown(() => app.close())
  await app.ready()
  const rows = app.gatekeeper.routes()
  const early = rows.filter((r) => r.early).map((r) => `${r.method} ${r.url}`).sort()
  t.same(early, ['GET /child', 'GET /child/', 'GET /early', 'HEAD /child', 'HEAD /child/', 'HEAD /early', 'POST /early/:id'])
  t.ok(rows.filter((r) => !r.early).every((r) => !r.url.startsWith('/early') && !r.url.startsWith('/child')), 'early routes are not described as checked')
  t.ok(rows.some((r) => r.url === '/late' && !r.early && r.explicit), 'routes after the core as before')
  const count = (app.printRoutes({ commonPrefix: false }).match(/\b(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS)\b/g) ?? []).length
  t.equal(rows.filter((r) => r.early).length + rows.filter((r) => !r.early).length, count, 'as many rows as Fastify has routes')
})

t.test('the start-up log says so, without strict mode', async (t) => {
  const { stream, lines } = capture()
  const app = await appWith((a) => { a.get('/early', async () => 'x') }, {}, { level: 'info', stream })
  await app.ready()
  await app.close()
  const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 40 && String(l.msg).includes('before the gatekeeper plugin'))
  t.match(warn, { earlyRoutes: 2, msg: /GET \/early, HEAD \/early/ })
})

t.test('assertAllRoutesProtected() fails on an early public route, and on any early route', async (t) => {
  const open = await appWith((a) => { a.get('/early-open', { config: { auth: false } }, async () => 'x') })
  t.teardown(() => open.close())
  await t.rejects(assertAllRoutesProtected(open), /GET \/early-open was registered before the gatekeeper plugin/)
  const closed = await appWith((a) => { a.get('/early', async () => 'x') })
  t.teardown(() => closed.close())
  await t.rejects(assertAllRoutesProtected(closed), /GET \/early was registered before the gatekeeper plugin/)
  const fine = await appWith(() => {})
  t.teardown(() => fine.close())
  await t.resolves(assertAllRoutesProtected(fine, { allowPublic: ['/api/login', '/api/logout'] }), 'control: no early route')
})

t.test('a mistyped strategy name or a bad config on an early route refuses every request, and the answer reveals nothing', async (t) => {
  const { stream, lines } = capture()
  const app = await appWith((a) => {
    a.get('/typo', { config: { auth: 'jwtt' } }, async () => 'x')
    a.get('/bad-key', { config: { auth: { permisions: ['a:b'] } } }, async () => 'x')
  }, {}, { level: 'info', stream })
  t.teardown(() => app.close())
  await app.ready()
  const token = remember((await app.gatekeeper.tokens!.issue({ id: 'u1', roles: [] })).accessToken)
  for (const url of ['/typo', '/bad-key']) {
    for (const headers of [{}, bearer(token)]) {
      const res = await app.inject({ url, headers })
      t.equal(res.statusCode, 401, `${url}: refused`)
      t.equal(res.json().code, 'GK_UNAUTHORIZED')
      t.notMatch(res.body, /jwtt|permisions|registered|config/, `${url}: the body names no configuration`)
    }
  }
  const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 50)
  t.equal(errors.length, 2, 'logged once per route, at error level')
  t.match(errors[0], { route: 'GET /typo', msg: /refuses every request: .*'jwtt', which is not registered/ })
})

t.test('a mistyped strategy name in an authenticate() hook fails the start-up', async (t) => {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), defaultAuth: 'public' })
  app.get('/hooked', { onRequest: app.gatekeeper.authenticate(['jwtt']) }, async () => 'x')
  await t.rejects(async () => { await app.ready() }, { code: 'GK_CONFIG', message: /authenticate\(\) names the strategy 'jwtt'/ })
})

auditSweep(t)
