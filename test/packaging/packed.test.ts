import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { packedConsumer, run } from './packed.js'

const consumer = packedConsumer()
t.teardown(consumer.remove)
const pkgDir = join(consumer.dir, 'node_modules/fastify-gatekeeper')

const PLUGINS: Array<[string, string]> = [
  ['fastify-gatekeeper', 'gatekeeper'], ['fastify-gatekeeper/jwt', 'jwt'], ['fastify-gatekeeper/refresh', 'refresh'],
  ['fastify-gatekeeper/api-key', 'apiKey'], ['fastify-gatekeeper/rbac', 'rbac'], ['fastify-gatekeeper/versioning', 'versioning'],
  ['fastify-gatekeeper/oauth2', 'oauth2'], ['fastify-gatekeeper/accounts', 'accounts'], ['fastify-gatekeeper/resource-server', 'resourceServer']
]

t.test('CommonJS: require() loads the package and its subpaths (require(esm)), and a server runs from a .cjs file', async (t) => {
  writeFileSync(join(consumer.dir, 'server.cjs'), `
const Fastify = require('fastify')
const { gatekeeper } = require('fastify-gatekeeper')
const { jwt } = require('fastify-gatekeeper/jwt')
const { memoryStore } = require('fastify-gatekeeper/stores/memory')
const subpaths = ${JSON.stringify(PLUGINS)}.map(([path, name]) => typeof require(path)[name])
async function main () {
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: 'a'.repeat(32), issuer: 'https://api.example', audience: 'api' })
  app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
  app.get('/me', async (request) => request.auth)
  const open = await app.inject('/health')
  const closed = await app.inject('/me')
  await app.close()
  console.log(JSON.stringify({ subpaths, open: open.statusCode, closed: [closed.statusCode, closed.json().code] }))
}
main().catch((err) => { console.error(err); process.exit(1) })
`)
  const out = JSON.parse(run(consumer, 'server.cjs')) as unknown
  t.same(out, { subpaths: PLUGINS.map(() => 'function'), open: 200, closed: [401, 'GK_UNAUTHORIZED'] })
})

t.test('every plugin subpath default-exports its plugin: app.register(import(subpath), options) works', async (t) => {
  writeFileSync(join(consumer.dir, 'defaults.mjs'), `
import Fastify from 'fastify'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
const same = []
for (const [path, name] of ${JSON.stringify(PLUGINS)}) {
  const mod = await import(path)
  same.push(mod.default === mod[name])
}
const app = Fastify()
app.register(import('fastify-gatekeeper'), { store: memoryStore() })
app.register(import('fastify-gatekeeper/jwt'), { secret: 'a'.repeat(32), issuer: 'https://api.example', audience: 'api' })
app.register(import('fastify-gatekeeper/refresh'), {})
app.register(import('fastify-gatekeeper/rbac'), { roles: { user: { permissions: ['posts:read'] } } })
await app.ready()
console.log(JSON.stringify({ same, services: [typeof app.gatekeeper.tokens.issue, typeof app.gatekeeper.refresh] }))
await app.close()
`)
  const out = JSON.parse(run(consumer, 'defaults.mjs')) as unknown
  t.same(out, { same: PLUGINS.map(() => true), services: ['function', 'object'] })
})

t.test('a store whose driver is not installed says what to install', async (t) => {
  writeFileSync(join(consumer.dir, 'drivers.mjs'), `
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { postgresStore } from 'fastify-gatekeeper/stores/postgres'
const out = []
for (const make of [() => sqliteStore({ filename: ':memory:' }), () => postgresStore({ connectionString: 'postgres://127.0.0.1/x' })]) {
  try { make(); out.push('made') } catch (err) { out.push([err.code, err.message]) }
}
console.log(JSON.stringify(out))
`)
  const [sqlite, pg] = JSON.parse(run(consumer, 'drivers.mjs')) as Array<[string, string]>
  t.match(sqlite, ['GK_CONFIG', /sqliteStore needs the better-sqlite3 package, which is not installed: npm install better-sqlite3@12/])
  t.match(pg, ['GK_CONFIG', /postgresStore needs the pg package, which is not installed: npm install pg@8/])
})

t.test('the packed README links only to absolute addresses, so they resolve on the registry', async (t) => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8')
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
  t.ok(targets.length > 10, 'the README has links')
  t.same(targets.filter((u) => !/^https:\/\//.test(u) && !u.startsWith('#')), [], 'no relative link')
})

t.test('package.json names the repository, homepage, issue tracker and the tested Node versions', async (t) => {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>
  t.match(pkg, {
    repository: { url: /github\.com\/fastify-gatekeeper\/fastify-gatekeeper/ },
    homepage: /^https:\/\/github\.com\/fastify-gatekeeper\/fastify-gatekeeper/,
    bugs: { url: /\/issues$/ },
    engines: { node: '^20.19.0 || ^22.12.0 || >=24.0.0' }
  })
})

t.test('every source map in the tarball carries its sources, and no map points at a file that is not shipped', async (t) => {
  const maps = consumer.files.filter((f) => f.endsWith('.map'))
  t.ok(maps.length > 50, `${maps.length} maps`)
  t.same(consumer.files.filter((f) => f.endsWith('.d.ts.map')), [], 'no declaration maps into unshipped sources')
  const missing = maps.filter((f) => {
    const map = JSON.parse(readFileSync(join(pkgDir, f), 'utf8')) as { sources: string[], sourcesContent?: Array<string | null> }
    return map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some((s) => typeof s !== 'string' || s === '')
  })
  t.same(missing, [])
})
