import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from 'fastify-gatekeeper'

interface Post { id: string, title: string, ownerId: string }

/** A tiny in-memory posts resource, served as v1 (deprecated) and v2. */
export async function registerPosts (app: FastifyInstance): Promise<void> {
  const posts = new Map<string, Post>()
  let next = 1

  const ownerOf = (request: FastifyRequest): string => {
    const post = posts.get((request.params as { id: string }).id)
    if (post === undefined) throw new errors.GK_NOT_FOUND('post')
    return post.ownerId
  }

  for (const version of ['v1', 'v2']) {
    app.get(`/api/${version}/posts`, { config: { auth: { permissions: ['posts:read'] } } }, async () => [...posts.values()])
    app.post(`/api/${version}/posts`, {
      config: { auth: { strategies: ['jwt'], permissions: ['posts:create'] } },
      schema: { body: { type: 'object', required: ['title'], additionalProperties: false, properties: { title: { type: 'string', minLength: 1, maxLength: 200 } } } }
    }, async (request, reply) => {
      const post = { id: String(next++), title: (request.body as { title: string }).title, ownerId: request.auth?.subject as string }
      posts.set(post.id, post)
      return reply.code(201).send(post)
    })
    app.delete(`/api/${version}/posts/:id`, {
      config: { auth: { strategies: ['jwt'], permissions: ['posts:delete'], owner: ownerOf } }
    }, async (request, reply) => {
      posts.delete((request.params as { id: string }).id)
      return reply.code(204).send()
    })
  }
}
