import swagger from '@fastify/swagger'
import t from 'tap'
import { gatekeeperOpenApi, type SwaggerOptionsLike } from '../../lib/core/openapi.js'
import { coreApp, headerStrategy } from '../helpers.js'

t.test('the OpenAPI document states each route\'s security from its config.auth', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const test = app.gatekeeper.strategy('test')
  if (test !== undefined) test.securitySchemes = { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
  app.gatekeeper.registerStrategy({
    ...headerStrategy(app, 'key', 'ApiKey', 'x-key'),
    securitySchemes: { apiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-key' } }
  })
  let userTransformCalls = 0
  await app.register(swagger, gatekeeperOpenApi(app, {
    openapi: { info: { title: 'test', version: '1' }, components: { securitySchemes: { mine: { type: 'http', scheme: 'basic' } } } },
    transform: ({ schema, url }) => { userTransformCalls++; return { schema, url } }
  }))
  app.get('/health', { config: { auth: false } }, async () => 'ok')
  app.get('/any', async () => 'ok')
  app.get('/key-only', { config: { auth: 'key' } }, async () => 'ok')
  app.get('/maybe', { config: { auth: { optional: true, strategies: ['test'] } } }, async () => 'ok')
  app.get('/own-security', { schema: { security: [{ mine: [] }] } as never }, async () => 'ok')
  app.put('/reports/:id', { config: { auth: { roles: ['staff'], anyOf: [{ permissions: ['reports:write'] }, { scopes: ['reports:write'] }], owner: () => 'x' } } }, async () => 'ok')
  await app.ready()
  const doc = app.swagger() as { paths: Record<string, Record<string, { security?: unknown }>>, components: { securitySchemes: Record<string, unknown> } }
  t.same(Object.keys(doc.components.securitySchemes).sort(), ['apiKeyAuth', 'bearerAuth', 'mine'])
  t.same(doc.paths['/health']?.get?.security, [])
  t.same(doc.paths['/any']?.get?.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }])
  t.same(doc.paths['/key-only']?.get?.security, [{ apiKeyAuth: [] }])
  t.same(doc.paths['/maybe']?.get?.security, [{ bearerAuth: [] }, {}])
  t.same(doc.paths['/own-security']?.get?.security, [{ mine: [] }])
  const put = doc.paths['/reports/{id}']?.put as Record<string, unknown> | undefined
  t.same(put?.['x-gatekeeper'], { roles: ['staff'], anyOf: [{ permissions: ['reports:write'] }, { scopes: ['reports:write'] }], owner: true }, 'what the route asks, beyond a credential')
  t.equal((doc.paths['/any']?.get as Record<string, unknown>)['x-gatekeeper'], undefined, 'nothing for a route that asks for no more than a credential')
  t.ok(userTransformCalls > 0, 'the user\'s own transform still runs')
})

t.test('swagger options without openapi (Swagger 2) pass through untouched', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const opts = gatekeeperOpenApi(app) as SwaggerOptionsLike
  t.type(opts.transform, 'function')
  t.same(opts.transformObject?.({ swaggerObject: { swagger: '2.0' } }), { swagger: '2.0' })
  const userObj: SwaggerOptionsLike = gatekeeperOpenApi<SwaggerOptionsLike>(app, { transformObject: () => ({ openapi: '3.0.3' }) })
  t.same(userObj.transformObject?.({ swaggerObject: {} }), { openapi: '3.0.3' })
})

t.test('routes of a deprecated version are marked deprecated in the document', async (t) => {
  const { versioning } = await import('../../lib/versioning/index.js')
  const app = await coreApp({ defaultAuth: 'public' })
  t.teardown(() => app.close())
  await app.register(swagger, gatekeeperOpenApi(app, { openapi: { info: { title: 'test', version: '1' } } }))
  await app.register(versioning, { prefix: '/api', versions: { v1: { deprecated: '2026-01-01', sunset: '2030-01-01', successor: 'v2' }, v2: {} } })
  app.get('/api/v1/items', async () => [])
  app.get('/api/v2/items', async () => [])
  await app.ready()
  const doc = app.swagger() as { paths: Record<string, Record<string, { deprecated?: boolean, security?: unknown }>> }
  t.equal(doc.paths['/api/v1/items']?.get?.deprecated, true)
  t.equal(doc.paths['/api/v2/items']?.get?.deprecated, undefined)
  t.same(doc.paths['/api/v2/items']?.get?.security, [])
})
