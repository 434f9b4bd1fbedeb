/**
 * Roles, wildcard permissions and ownership checks (OWASP API1 BOLA, API5 BFLA).
 *
 *   npx tsx examples/rbac-ownership.ts
 *
 * Accounts (password `correct horse battery staple`): alice and bob are
 * authors, erin is an editor, root is an admin.
 *
 *   TOKEN=$(curl -s localhost:3000/api/login -H 'content-type: application/json' \
 *     -d '{"username":"alice","password":"correct horse battery staple"}' | jq -r .accessToken)
 *   curl -s localhost:3000/api/posts -H "authorization: Bearer $TOKEN"
 *   curl -s -X PUT localhost:3000/api/posts/2 -H "authorization: Bearer $TOKEN" \
 *     -H 'content-type: application/json' -d '{"title":"mine now"}'     # 403: bob's post
 */
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyRequest } from 'fastify'
import { errors, gatekeeper, jwt, rbac, secureLogger } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify({ logger: secureLogger() })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  // A random secret means tokens die with the process; set JWT_SECRET to keep them.
  secret: process.env.JWT_SECRET ?? randomBytes(32),
  issuer: 'rbac-example',
  audience: 'api'
})
await app.register(rbac, {
  roles: {
    admin: { inherits: ['editor'], permissions: ['*'] },
    editor: { inherits: ['author'], permissions: ['posts:*', 'comments:*'] },
    author: { inherits: ['reader'], permissions: ['posts:create', 'posts:update:own', 'posts:delete:own'] },
    reader: { permissions: ['posts:read', 'comments:read'] }
  }
})

interface Post { id: string, authorId: string, title: string }
const posts = new Map<string, Post>()
let nextId = 3

// The owner resolver: who owns the post this request targets. A missing post
// is a 404 from here, and the handler does not run.
function authorOf (request: FastifyRequest): string {
  const post = posts.get((request.params as { id: string }).id)
  if (post === undefined) throw new errors.GK_NOT_FOUND('post')
  return post.authorId
}

const postBody = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: { title: { type: 'string', minLength: 1, maxLength: 200 } }
} as const

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

app.get('/api/posts', { config: { auth: { permissions: ['posts:read'] } } }, async (request) =>
  // request.can answers inside a handler: here, which posts this caller may edit.
  [...posts.values()].map((p) => ({ ...p, canEdit: request.can('posts:update', p.authorId) })))

app.post('/api/posts', {
  config: { auth: { permissions: ['posts:create'] } },
  schema: { body: postBody }
}, async (request, reply) => {
  // The author is the caller, never a field of the body.
  const post = { id: String(nextId++), authorId: request.auth?.subject as string, title: (request.body as { title: string }).title }
  posts.set(post.id, post)
  return reply.code(201).send(post)
})

app.put('/api/posts/:id', {
  // Authors hold posts:update:own, so authorOf must return their id; editors
  // hold posts:*, so for them the resolver is not even called.
  config: { auth: { permissions: ['posts:update'], owner: authorOf } },
  schema: { body: postBody }
}, async (request) => {
  const post = posts.get((request.params as { id: string }).id)
  if (post === undefined) throw new errors.GK_NOT_FOUND('post')
  post.title = (request.body as { title: string }).title
  return post
})

app.delete('/api/posts/:id', {
  config: { auth: { permissions: ['posts:delete'], owner: authorOf } }
}, async (request, reply) => {
  posts.delete((request.params as { id: string }).id)
  return reply.code(204).send()
})

app.put('/api/users/:id/roles', {
  config: { auth: { permissions: ['users:manage'] } },
  schema: {
    body: {
      type: 'object',
      required: ['roles'],
      additionalProperties: false,
      properties: { roles: { type: 'array', maxItems: 10, items: { type: 'string', enum: app.gatekeeper.rbac?.roles() ?? [] } } }
    }
  }
}, async (request) => {
  // Roles live in access tokens: the change holds once the user's current
  // token expires (refresh sessions are revoked at once).
  const { id } = request.params as { id: string }
  return app.gatekeeper.users?.setRoles(id, (request.body as { roles: string[] }).roles, request)
})

// Demo accounts and posts.
const password = 'correct horse battery staple'
const users = app.gatekeeper.users
if (users === undefined) throw new Error('the jwt plugin provides app.gatekeeper.users')
const accounts = {
  alice: await users.create({ username: 'alice', password, roles: ['author'] }),
  bob: await users.create({ username: 'bob', password, roles: ['author'] }),
  erin: await users.create({ username: 'erin', password, roles: ['editor'] }),
  root: await users.create({ username: 'root', password, roles: ['admin'] })
}
posts.set('1', { id: '1', authorId: accounts.alice.id, title: "Alice's first post" })
posts.set('2', { id: '2', authorId: accounts.bob.id, title: "Bob's first post" })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
