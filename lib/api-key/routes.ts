import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, isGatekeeperError } from '../core/errors.js'
import { isRecord } from '../core/json.js'
import type { AuthContext } from '../core/types.js'
import { durationInput } from './input.js'
import type { ApiKeyService } from './service.js'

/** What the management routes need. */
export interface ManagementRoutesOptions {
  service: ApiKeyService
  /** The permission that lets a user manage anybody's keys. */
  permission: string
}

const nullableDate = { type: ['string', 'null'], format: 'date-time' }
// The response schema lists the public fields only: a hash can never be serialised, whatever the store returns.
const keyInfo = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    ownerId: { type: 'string' },
    name: { type: 'string' },
    start: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    expiresAt: nullableDate,
    revokedAt: nullableDate,
    createdAt: { type: 'string', format: 'date-time' },
    lastUsedAt: nullableDate,
    rateLimit: {
      type: ['object', 'null'],
      properties: { max: { type: 'integer' }, timeWindow: { type: 'integer' } }
    }
  }
}
const created = { type: 'object', properties: { key: { type: 'string' }, record: keyInfo } }
const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['id'] }
const duration = { anyOf: [{ type: 'string', minLength: 1, maxLength: 32 }, { type: 'integer', minimum: 0 }] }
const createBody = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    scopes: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } },
    expiresIn: { anyOf: [...duration.anyOf, { type: 'null' }] },
    ownerId: { type: 'string', minLength: 1, maxLength: 256 },
    rateLimit: {
      type: ['object', 'null'],
      properties: { max: { type: 'integer' }, timeWindow: duration },
      required: ['max', 'timeWindow']
    }
  },
  required: ['name']
}

// Validation failures answer GK_INVALID_REQUEST like every other bad input of the library.
const schemaErrorFormatter = (errs: Array<{ instancePath?: string, message?: string }>, dataVar: string): Error =>
  new errors.GK_INVALID_REQUEST(`${dataVar}${errs[0]?.instancePath ?? ''} ${errs[0]?.message ?? 'is invalid'}`)

/**
 * `POST /` create, `GET /` list, `DELETE /:id` revoke, `POST /:id/rotate`.
 * Only people manage keys (a key cannot mint keys); a user manages their own
 * keys, and with the manage permission anybody's. Another user's key is
 * answered 404, as a key that does not exist, so ids cannot be probed.
 */
export async function managementRoutes (app: FastifyInstance, opts: ManagementRoutesOptions): Promise<void> {
  const { service, permission } = opts
  const gk = app.gatekeeper
  // People only: an application (an API key, a client token) is refused by the core with 403.
  const auth = { kind: 'user' } as const

  function person (request: FastifyRequest, reply: FastifyReply): AuthContext {
    const who = request.auth
    if (who === null) return gk.refuse(request, reply)
    if (who.kind !== 'user') return gk.refuse(request, reply, { keyId: who.keyId ?? null })
    return who
  }

  function forbidden (request: FastifyRequest, reply: FastifyReply): never {
    return gk.refuse(request, reply, { missingPermission: permission })
  }

  /** The key `id` when the caller may manage it; 404 otherwise. */
  async function manageable (request: FastifyRequest, who: AuthContext, id: string): Promise<void> {
    let record
    try {
      record = await gk.store.apiKeys.findById(id)
    } catch (err) {
      if (isGatekeeperError(err)) throw err
      request.log.error({ err }, 'api key store failed')
      throw new errors.GK_STORE_UNAVAILABLE()
    }
    if (record === null || (record.ownerId !== who.subject && !request.can(permission))) throw new errors.GK_NOT_FOUND('api key')
  }

  app.post<{ Body: { name: string, scopes?: string[], expiresIn?: string | number | null, ownerId?: string, rateLimit?: { max: number, timeWindow: string | number } | null } }>('/', {
    prefixTrailingSlash: 'no-slash',
    config: { auth },
    schema: { body: createBody, response: { 201: created } },
    schemaErrorFormatter
  }, async (request, reply) => {
    const who = person(request, reply)
    const body = request.body
    const ownerId = body.ownerId ?? who.subject
    if (ownerId !== who.subject && !request.can(permission)) forbidden(request, reply)
    // A key's budget is the operator's decision: its owner must not raise their own limit.
    if (body.rateLimit !== undefined && body.rateLimit !== null && !request.can(permission)) forbidden(request, reply)
    const result = await service.create({ ownerId, name: body.name, scopes: body.scopes, expiresIn: body.expiresIn, rateLimit: body.rateLimit }, request)
    // The plaintext is in this body once: no cache may keep it (RFC 9111 §5.2.2.5).
    reply.code(201).header('cache-control', 'no-store')
    return result
  })

  app.get<{ Querystring: { ownerId?: string } }>('/', {
    prefixTrailingSlash: 'no-slash',
    config: { auth },
    schema: {
      querystring: { type: 'object', properties: { ownerId: { type: 'string', minLength: 1, maxLength: 256 } } },
      response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keyInfo } } } }
    },
    schemaErrorFormatter
  }, async (request, reply) => {
    const who = person(request, reply)
    const ownerId = request.query.ownerId ?? who.subject
    if (ownerId !== who.subject && !request.can(permission)) forbidden(request, reply)
    return { keys: await service.list(ownerId) }
  })

  app.delete<{ Params: { id: string } }>('/:id', {
    config: { auth },
    schema: { params: idParams },
    schemaErrorFormatter
  }, async (request, reply) => {
    const who = person(request, reply)
    const { id } = request.params
    await manageable(request, who, id)
    await service.revoke(id, request)
    return reply.code(204).send()
  })

  app.post<{ Params: { id: string } }>('/:id/rotate', {
    config: { auth },
    schema: { params: idParams, response: { 201: { ...created, properties: { ...created.properties, previous: keyInfo } } } },
    schemaErrorFormatter
  }, async (request, reply) => {
    const who = person(request, reply)
    const { id } = request.params
    const body = request.body ?? {}
    if (!isRecord(body)) throw new errors.GK_INVALID_REQUEST('body must be { overlap? }')
    await manageable(request, who, id)
    const result = await service.rotate(id, { overlap: durationInput(body.overlap, 'overlap') }, request)
    reply.code(201).header('cache-control', 'no-store')
    return result
  })
}
