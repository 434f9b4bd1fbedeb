import t from 'tap'
import Fastify from 'fastify'
import { apiKey, type ApiKeyOptions } from '../../lib/api-key/plugin.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { memoryStore } from '../../lib/stores/memory.js'

async function register (t: { teardown (fn: () => unknown): void }, opts: unknown): Promise<void> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(apiKey, opts as ApiKeyOptions)
  await app.ready()
}

t.test('wrong options fail at registration with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [{ prefix: 'G' }, /prefix must be 2-8 lowercase/],
    [{ prefix: 'toolongprefix' }, /prefix/],
    [{ prefix: 'g_k' }, /prefix/],
    [{ pepper: 'short' }, /pepper must be at least 32 bytes/],
    [{ pepper: 42 }, /pepper must be a string or a Buffer/],
    [{ header: 'authorization' }, /header must be/],
    [{ header: 'Cookie' }, /header must be/],
    [{ header: 'x api key' }, /header must be/],
    [{ bearer: 'yes' }, /bearer must be a boolean/],
    [{ cache: { max: 0 } }, /cache.max/],
    [{ cache: { max: 1.5 } }, /cache.max/],
    [{ cache: { ttl: '1h' } }, /cache.ttl must be between 1s and 10m/],
    [{ cache: { size: 5 } }, /unknown option apiKey cache.size/],
    [{ cache: true }, /cache must be an object/],
    [{ routes: { prefix: 'keys' } }, /routes.prefix must be a path/],
    [{ routes: { prefix: '/keys/' } }, /routes.prefix/],
    [{ routes: { permission: 'a b' } }, /routes.permission/],
    [{ anomaly: { ips: 1 } }, /anomaly.ips/],
    [{ anomaly: { window: '1s' } }, /anomaly.window/],
    [{ headers: 'x-api-key' }, /unknown option apiKey options.headers/]
  ]
  for (const [opts, message] of rows) {
    await t.rejects(register(t, opts), { code: 'GK_CONFIG', message }, JSON.stringify(opts))
  }
})

t.test('good options register', async (t) => {
  await register(t, {})
  await register(t, { prefix: 'acme', header: 'X-Acme-Key', pepper: Buffer.alloc(32, 7), bearer: false, cache: false, routes: false, anomaly: false })
  await register(t, { cache: { max: 1, ttl: 1000 }, routes: { prefix: '/v1/keys' }, anomaly: { ips: 2, window: '1h' } })
})

t.test('the plugin needs the core, and registers once', async (t) => {
  const bare = Fastify()
  t.teardown(() => bare.close())
  await t.rejects(async () => { await bare.register(apiKey); await bare.ready() }, /gatekeeper/)

  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(gatekeeper, { store: memoryStore() })
  await twice.register(apiKey)
  await t.rejects(async () => { await twice.register(apiKey, { routes: false }); await twice.ready() }, { code: 'GK_CONFIG' })
})

t.test('shutdown waits for pending lastUsedAt writes', async (t) => {
  const store = memoryStore()
  let written = 0
  const touch = store.apiKeys.touch.bind(store.apiKeys)
  store.apiKeys.touch = async (id, at) => { await new Promise((resolve) => setTimeout(resolve, 20)); written++; await touch(id, at) }
  const app = Fastify()
  await app.register(gatekeeper, { store })
  await app.register(apiKey)
  app.get('/x', async () => 'ok')
  await app.ready()
  const owner = await store.users.create({ username: 'o', passwordHash: null })
  const { key } = await app.gatekeeper.apiKeys.create({ ownerId: owner.id, name: 'k' })
  t.equal((await app.inject({ url: '/x', headers: { 'x-api-key': key } })).statusCode, 200)
  await app.close()
  t.equal(written, 1)
})
