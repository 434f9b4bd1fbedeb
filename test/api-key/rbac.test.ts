import t from 'tap'
import Fastify from 'fastify'
import { apiKey } from '../../lib/api-key/plugin.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { rbac } from '../../lib/rbac/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

t.test('with the rbac plugin, a key gets its scopes ∩ its owner role permissions, wildcards included', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(rbac, {
    roles: {
      editor: { inherits: ['reader'], permissions: ['posts:*'] },
      reader: { permissions: ['posts:read', 'comments:read'] }
    }
  })
  await app.register(apiKey)
  for (const [method, url, permission] of [['GET', '/posts', 'posts:read'], ['DELETE', '/posts', 'posts:delete'], ['GET', '/comments', 'comments:read'], ['POST', '/comments', 'comments:write']] as const) {
    app.route({ method, url, config: { auth: { permissions: [permission] } }, handler: async () => ({ ok: true }) })
  }
  app.get('/scoped', { config: { auth: { scopes: ['posts:read'] } } }, async () => ({ ok: true }))
  await app.ready()
  const editor = await app.gatekeeper.store.users.create({ username: 'e', passwordHash: null, roles: ['editor'] })
  const { key } = await app.gatekeeper.apiKeys.create({ ownerId: editor.id, name: 'k', scopes: ['posts:*', 'comments:write'] })
  const rows: Array<['GET' | 'POST' | 'DELETE', string, number, string]> = [
    ['GET', '/posts', 200, 'posts:* scope, editor inherits and holds posts:*'],
    ['DELETE', '/posts', 200, 'posts:* on both sides'],
    ['GET', '/comments', 403, 'the owner reads comments but the key is not scoped to'],
    ['POST', '/comments', 403, 'the key is scoped to write comments but the owner may not'],
    ['GET', '/scoped', 200, 'a route scope is matched by the key scope wildcard']
  ]
  for (const [method, url, status, why] of rows) {
    t.equal((await app.inject({ method, url, headers: { 'x-api-key': key } })).statusCode, status, why)
  }
  t.same((await app.gatekeeper.apiKeys.verify(key))?.roles, ['editor'])
})
