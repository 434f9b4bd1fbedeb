import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { createGatekeeper } from '../../lib/core/plugin.js'
import '../../lib/index.js'
import '../../lib/mfa/index.js'
import '../../lib/passkeys/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { jwt } from '../../lib/jwt/index.js'
import { apiKey } from '../../lib/api-key/index.js'

// Every service of app.gatekeeper, with the plugin that provides it as users write it.
const SERVICES: Array<[service: string, plugin: string]> = [
  ['jwt', 'jwt'], ['tokens', 'jwt'], ['users', 'jwt'], ['passwords', 'jwt'], ['apiKeys', 'apiKey'],
  ['refresh', 'refresh'], ['version', 'versioning'], ['rbac', 'rbac'], ['oauth2', 'oauth2'], ['mfa', 'mfa'],
  ['passkeys', 'passkeys'], ['accounts', 'accounts'], ['dpop', 'dpop'], ['resourceServer', 'resourceServer']
]

t.test('a service read before its plugin is registered: GK_CONFIG naming the plugin as users write it', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  for (const [service, plugin] of SERVICES) {
    t.notOk(app.gatekeeper.has(service), `has('${service}') is false`)
    t.throws(() => (app.gatekeeper as unknown as Record<string, unknown>)[service], {
      code: 'GK_CONFIG',
      message: new RegExp(`app\\.gatekeeper\\.${service} was read before the ${plugin} plugin was registered: .*\`await app\\.register\\(${plugin}, …\\)\``)
    }, service)
  }
  t.ok(app.gatekeeper.has('protection'), 'the gatekeeper plugin provides protection')
  t.equal(typeof app.gatekeeper.protection.unlock, 'function')
  t.notOk(app.gatekeeper.has('redis'))
  t.throws(() => app.gatekeeper.redis, { code: 'GK_CONFIG', message: /app\.gatekeeper\.redis .*the gatekeeper plugin's `redis` option/ })
})

t.test('a service read while its registration is still pending: GK_CONFIG, then the service once awaited', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  const pending = app.register(jwt, { secret: 's'.repeat(32), issuer: 'https://api.example', audience: 'api' })
  t.throws(() => app.gatekeeper.users, { code: 'GK_CONFIG', message: /app\.gatekeeper\.users was read before the jwt plugin was registered: .*`await app\.register\(jwt, …\)`/ })
  await pending
  t.ok(app.gatekeeper.has('users'))
  t.equal(typeof app.gatekeeper.users.create, 'function')
})

t.test('a service is provided once, and cannot be assigned', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(apiKey, {})
  t.throws(() => app.gatekeeper.provide('apiKeys', app.gatekeeper.apiKeys), { code: 'GK_CONFIG', message: /app\.gatekeeper\.apiKeys is provided twice/ })
  t.throws(() => { (app.gatekeeper as unknown as Record<string, unknown>).apiKeys = null }, TypeError)
})

t.test('the core alone knows no rateLimit, bruteForce or redis; the gatekeeper plugin does', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(createGatekeeper([]), { store: memoryStore(), rateLimit: true }) }, {
    code: 'GK_CONFIG',
    message: "unknown option 'rateLimit' (allowed: store, defaultAuth, strict, realm, audit, now)"
  })
  const full = Fastify()
  t.teardown(() => full.close())
  await t.rejects(async () => { await full.register(gatekeeper, { store: memoryStore(), rateLimits: true } as never) }, {
    code: 'GK_CONFIG',
    message: "unknown option 'rateLimits' (allowed: store, defaultAuth, strict, realm, audit, rateLimit, bruteForce, redis, now)"
  })
})

t.test('gk.refuse: 401 with a Bearer challenge for an anonymous caller, 403 audited and challenged for a signed-in one', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const events: unknown[] = []
  await app.register(gatekeeper, { store: memoryStore(), defaultAuth: 'public', audit: { log: false, onEvent: (e) => { events.push(e) } } })
  app.get('/x', async (request, reply) => {
    if (request.headers['x-user'] !== undefined) request.auth = { strategy: 'apiKey', kind: 'application', subject: 'u', roles: [], permissions: [], keyId: 'k1', scheme: 'ApiKey' }
    return app.gatekeeper.refuse(request, reply, { missingPermission: 'x:read' })
  })
  const anon = await app.inject('/x')
  t.equal(anon.statusCode, 401)
  t.equal(anon.json().code, 'GK_UNAUTHORIZED')
  t.match(anon.headers['www-authenticate'], /^Bearer realm="api"/)
  const signed = await app.inject({ url: '/x', headers: { 'x-user': '1' } })
  t.equal(signed.statusCode, 403)
  t.equal(signed.json().code, 'GK_FORBIDDEN')
  t.match(signed.headers['www-authenticate'], /^ApiKey realm="api", error="insufficient_scope"/)
  t.match(events, [{ type: 'access.denied', reason: 'GK_FORBIDDEN', route: 'GET /x', missingPermission: 'x:read', subject: 'u' }])
})
