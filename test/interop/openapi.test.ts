import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { gatekeeperOpenApi } from '../../lib/core/openapi.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { freePort } from '../helpers.js'

type Op = { security?: Array<Record<string, string[]>>, responses: Record<string, { $ref?: string }>, 'x-gatekeeper'?: Record<string, unknown>, [k: string]: unknown }
type Doc = { paths: Record<string, Record<string, Op>>, components: Record<string, Record<string, any>> }

const schemesOf = (op: Op | undefined): string[] => (op?.security ?? []).flatMap((r) => Object.keys(r)).sort()

/** Starts examples/full (the `npm start` demo) as its README says; returns its base URL. */
async function startDemo (t: Test): Promise<{ base: string, output: () => string }> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'gk-demo-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/full/server.ts'], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  t.teardown(() => {
    child.kill('SIGTERM')
    rmSync(dataDir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      await fetch(`${base}/health`)
      return { base, output: () => output }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`examples/full did not start: ${output}`, { cause: err })
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

t.test("the demo's OpenAPI document is valid (swagger-parser) and promises what the server enforces", async (t) => {
  const { base, output } = await startDemo(t)
  t.equal((await fetch(`${base}/docs`, { redirect: 'manual' })).status < 400, true, 'the documentation UI is public')
  const res = await fetch(`${base}/docs/json`)
  t.equal(res.status, 200, 'and so is its document')
  const doc = await res.json() as Doc
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'swagger-parser validates the document')

  // Routes for people never list API keys; the server answers an API key 403 there.
  for (const [path, method] of [['/api/keys', 'get'], ['/api/keys', 'post'], ['/api/keys/{id}', 'delete'], ['/api/sessions', 'get'], ['/api/sessions/{id}', 'delete'], ['/api/logout/all', 'post'], ['/api/password', 'post']] as const) {
    const op = doc.paths[path]?.[method]
    t.ok(op !== undefined, `${method.toUpperCase()} ${path} is documented`)
    t.notOk(schemesOf(op).includes('apiKeyAuth'), `${method.toUpperCase()} ${path}: no apiKeyAuth`)
    t.ok(schemesOf(op).includes('bearerAuth'), `${method.toUpperCase()} ${path}: bearerAuth`)
    t.same(op?.['x-gatekeeper'], { kind: 'user' }, `${method.toUpperCase()} ${path}: for people, in the x-gatekeeper extension`)
  }
  const posts = doc.paths['/api/v2/posts']?.get
  t.same(schemesOf(posts), ['apiKeyAuth', 'bearerAuth'], 'a route open to both lists both')
  t.same(posts?.['x-gatekeeper'], { permissions: ['posts:read'] }, 'permissions in the x-gatekeeper extension')
  for (const status of ['401', '403', '429']) t.match(posts?.responses[status], { $ref: String }, `GET /api/v2/posts: ${status}`)
  t.notOk('410' in (posts?.responses ?? {}), 'v2 has no sunset')
  t.match(doc.paths['/api/v1/posts']?.get?.responses['410'], { $ref: '#/components/responses/GatekeeperVersionGone' }, 'v1 has a sunset: 410')
  const login = doc.paths['/api/login']?.post
  t.same(login?.security, [], 'login is public')
  for (const status of ['400', '401', '429']) t.ok(login?.responses[status] !== undefined, `login: ${status}`)
  t.same(doc.paths['/health']?.get?.security, [])
  t.notOk('401' in (doc.paths['/health']?.get?.responses ?? {}), 'public routes promise no 401')
  t.same(doc.components.schemas?.GatekeeperError?.required, ['statusCode', 'code', 'error', 'message'])
  t.match(doc.components.responses?.GatekeeperUnauthorized, { headers: { 'WWW-Authenticate': {} }, content: { 'application/json': { schema: { $ref: '#/components/schemas/GatekeeperError' } } } })
  const dump = JSON.stringify(doc)
  t.notOk(dump.includes('x-gatekeeper-responses'), 'the response hints are consumed')

  // What the document promises, the server does: the demo's API key is refused on the routes for people.
  // It is printed once the seed is done, a moment after the server answers.
  const deadline = Date.now() + 30_000
  while (!/demo_[A-Za-z0-9]{36}/.test(output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const key = /demo_[A-Za-z0-9]{36}/.exec(output())?.[0]
  t.type(key, 'string', 'the demo printed its API key')
  for (const path of ['/api/keys', '/api/sessions']) {
    const refused = await fetch(`${base}${path}`, { headers: { 'x-api-key': key as string } })
    t.equal(refused.status, 403, `an API key on ${path}: 403`)
    t.equal(refused.headers.get('www-authenticate'), 'ApiKey realm="api", error="insufficient_scope"')
  }
  t.equal((await fetch(`${base}/api/v2/posts`, { headers: { 'x-api-key': key as string } })).status, 200, 'and accepted where the document lists it')
})

t.test('required scopes go into the OAuth 2.0 requirement arrays, and the flow lists them', async (t) => {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  await app.register(swagger, gatekeeperOpenApi(app, { openapi: { info: { title: 'reports', version: '1' } } }))
  app.gatekeeper.publicPrefix('/docs')
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(jwt, { secret: 's'.repeat(32), issuer: 'https://api.example', audience: 'api', cookie: {} })
  await app.register(refresh)
  await app.register(apiKey)
  await app.register(oauth2)
  app.get('/reports', { config: { auth: { scopes: ['reports:read'] } } }, async () => [])
  app.post('/reports', { config: { auth: { strategies: ['jwt'], scopes: ['reports:read', 'reports:write'] } } }, async () => ({}))
  app.delete('/reports/:id', { config: { auth: { roles: ['admin', 'editor'], anyOf: [{ permissions: ['reports:delete'] }, { scopes: ['reports:delete'] }] } } }, async () => ({}))
  await app.ready()
  t.teardown(() => app.close())
  const doc = app.swagger() as unknown as Doc
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'swagger-parser validates the document')
  t.match(doc.components.securitySchemes?.oauth2ClientCredentials, {
    type: 'oauth2',
    flows: { clientCredentials: { tokenUrl: 'https://api.example/api/oauth/token', scopes: { 'reports:read': String, 'reports:write': String } } }
  })
  // A person's token holds no scope: routes requiring scopes are opened by client tokens and API keys.
  t.same(doc.paths['/reports']?.get?.security, [{ oauth2ClientCredentials: ['reports:read'] }, { apiKeyAuth: [] }])
  t.same(doc.paths['/reports']?.post?.security, [{ oauth2ClientCredentials: ['reports:read', 'reports:write'] }])
  t.same(doc.paths['/reports']?.post?.['x-gatekeeper'], { scopes: ['reports:read', 'reports:write'] })
  t.same(doc.paths['/reports/{id}']?.delete?.security, [{ bearerAuth: [] }, { cookieAuth: [] }, { oauth2ClientCredentials: [] }, { apiKeyAuth: [] }], 'people by permission or applications by scope: every scheme')
  t.same(doc.paths['/reports/{id}']?.delete?.['x-gatekeeper'], { roles: ['admin', 'editor'], anyOf: [{ permissions: ['reports:delete'] }, { scopes: ['reports:delete'] }] })
  t.same(doc.paths['/api/token/refresh']?.post?.security, [])
  t.ok(doc.paths['/api/token/refresh']?.post?.responses['403'] !== undefined, 'the cookie refresh may answer 403 (CSRF)')
  t.equal((await app.inject('/docs/json')).statusCode, 200, 'publicPrefix opened the documentation UI')
  t.equal((await app.inject('/reports')).statusCode, 401, 'and nothing else')
})

t.test('publicPrefix: public unless the route says otherwise, explicit in strict mode, validated', async (t) => {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), strict: true, audit: { log: false } })
  app.gatekeeper.publicPrefix('/docs')
  app.get('/docs', async () => 'ui')
  app.get('/docs/json', async () => ({}))
  app.get('/docs/admin', { config: { auth: 'nobody' } }, async () => 'no')
  app.get('/docsx', { config: { auth: {} } }, async () => 'not under the prefix')
  app.gatekeeper.registerStrategy({ name: 'nobody', scheme: 'Bearer', authenticate: () => null })
  await app.ready()
  t.teardown(() => app.close())
  t.equal((await app.inject('/docs')).statusCode, 200)
  t.equal((await app.inject('/docs/json')).statusCode, 200)
  t.equal((await app.inject('/docs/admin')).statusCode, 401, 'a route under the prefix keeps its own config.auth')
  t.equal((await app.inject('/docsx')).statusCode, 401, 'a sibling path is not under the prefix')
  for (const bad of ['docs', '/docs/', '/docs/:id', '', '/']) t.throws(() => app.gatekeeper.publicPrefix(bad), { code: 'GK_CONFIG' }, JSON.stringify(bad))
  t.throws(() => app.gatekeeper.publicPrefix('/late'), { code: 'GK_CONFIG', message: /before the app is ready/ })
})

t.test('config.auth.kind refuses the other kind of caller with 403 and is validated', async (t) => {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  const { headerStrategy } = await import('../helpers.js')
  app.gatekeeper.registerStrategy(headerStrategy(app))
  app.get('/people', { config: { auth: { kind: 'user' } } }, async () => 'ok')
  app.get('/machines', { config: { auth: { kind: 'application' } } }, async () => 'ok')
  await app.ready()
  t.teardown(() => app.close())
  const user = { 'x-test-user': 'alice' }
  const application = { 'x-test-user': 'job;;reports:read' }
  t.equal((await app.inject({ url: '/people', headers: user })).statusCode, 200)
  const refused = await app.inject({ url: '/people', headers: application })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'GK_FORBIDDEN')
  t.equal(refused.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope"')
  t.equal((await app.inject({ url: '/machines', headers: application })).statusCode, 200)
  t.equal((await app.inject({ url: '/machines', headers: user })).statusCode, 403)
  t.match(app.gatekeeper.routes().find((r) => r.url === '/people'), { kind: 'user' })
  const bad = Fastify()
  await bad.register(gatekeeper, { store: memoryStore() })
  bad.get('/x', { config: { auth: { kind: 'robot' as never } } }, async () => 'x')
  await t.rejects(async () => { await bad.ready() }, { code: 'GK_CONFIG', message: /config.auth.kind must be 'user' or 'application'/ })
})
