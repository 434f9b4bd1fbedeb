/**
 * Typed routes with @fastify/type-provider-typebox: the `owner` resolver and the
 * handler both see `request.params` and `request.body` with their TypeBox types,
 * and `config.auth` is checked by the compiler like any other route option.
 *
 *   npx tsx examples/typebox.ts
 */
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify from 'fastify'
import { errors, gatekeeper, jwt, rbac } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify({ logger: true }).withTypeProvider<TypeBoxTypeProvider>()

await app.register(gatekeeper, { store: memoryStore(), strict: true })
await app.register(jwt, {
  secret: process.env.JWT_SECRET ?? 'example-secret-change-me-0123456789abcdef',
  issuer: 'api.example',
  audience: 'api'
})
await app.register(rbac, {
  roles: {
    editor: { permissions: ['notes:*'] },
    user: { permissions: ['notes:read', 'notes:update:own'] }
  }
})

const notes = new Map<string, { id: string, ownerId: string, text: string }>()

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) })
const Body = Type.Object({ text: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false })

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

app.get('/notes/:id', { schema: { params: Params }, config: { auth: { permissions: ['notes:read'] } } }, async (request) => {
  const note = notes.get(request.params.id) // request.params.id: string
  if (note === undefined) throw new errors.GK_NOT_FOUND('note')
  return note
})

app.put('/notes/:id', {
  schema: { params: Params, body: Body },
  config: {
    auth: {
      strategies: ['jwt'],
      permissions: ['notes:update'],
      // Runs after validation: params are typed and already checked.
      owner: (request) => {
        const note = notes.get((request.params as { id: string }).id)
        if (note === undefined) throw new errors.GK_NOT_FOUND('note')
        return note.ownerId
      }
    }
  }
}, async (request) => {
  const note = notes.get(request.params.id)
  if (note === undefined) throw new errors.GK_NOT_FOUND('note')
  note.text = request.body.text // typed: string
  return note
})

const ada = await app.gatekeeper.users.create({ username: 'ada', password: 'correct horse battery', roles: ['user'] })
notes.set('1', { id: '1', ownerId: ada.id, text: 'first note' })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
