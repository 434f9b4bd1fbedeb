import type { FastifyInstance } from 'fastify'
import type { RoutePolicy } from './policy.js'

const kRoute = Symbol.for('fastify-gatekeeper.route')

type Json = Record<string, unknown>

/** What a route asks of its callers beyond authentication, for the `x-gatekeeper` operation extension; `null` when nothing. */
function requirementsOf (p: RoutePolicy): Json | null {
  const lists = (r: { roles: readonly string[], permissions: readonly string[], scopes: readonly string[] }): Json => {
    const out: Json = {}
    if (r.roles.length > 0) out.roles = [...r.roles]
    if (r.permissions.length > 0) out.permissions = [...r.permissions]
    if (r.scopes.length > 0) out.scopes = [...r.scopes]
    return out
  }
  const out = lists(p)
  if (p.anyOf.length > 0) out.anyOf = p.anyOf.map(lists)
  if (p.owner !== null) out.owner = true
  return p.public || Object.keys(out).length === 0 ? null : out
}

interface TransformInput { schema: Json | undefined, url: string, route: { method: string | string[], url: string, config?: Json }, [k: string]: unknown }
type Transform = (input: TransformInput) => { schema: Json | undefined, url: string }
type TransformObject = (input: { openapiObject?: Json, swaggerObject?: Json }) => Json

/** `@fastify/swagger` options, as far as this helper touches them. */
export interface SwaggerOptionsLike {
  openapi?: Json
  transform?: Transform
  transformObject?: TransformObject
  [k: string]: unknown
}

/**
 * Wraps `@fastify/swagger` options so the generated document states the
 * gatekeeper's protection: `components.securitySchemes` from the registered
 * strategies (`bearerAuth`, `cookieAuth`, `apiKeyAuth`) and, on every route,
 * `security` derived from its `config.auth` — `[]` for public routes, one
 * alternative per accepted scheme otherwise. A route that asks for roles,
 * permissions, scopes, `anyOf` alternatives or ownership states them in the
 * operation's `x-gatekeeper` extension
 * (`{ permissions?, roles?, scopes?, anyOf?, owner? }`, only what it asks).
 * A `security` written in a route's own schema is kept.
 *
 * ```ts
 * await app.register(swagger, gatekeeperOpenApi(app, { openapi: { info: { title: 'API', version: '1' } } }))
 * ```
 */
export function gatekeeperOpenApi<T extends object = SwaggerOptionsLike> (app: FastifyInstance, options: T = {} as T): T {
  const userTransform = (options as SwaggerOptionsLike).transform
  const userTransformObject = (options as SwaggerOptionsLike).transformObject

  function schemesOf (names: readonly string[] | null): string[] {
    const gk = app.gatekeeper
    const out: string[] = []
    for (const name of names ?? gk.strategies()) {
      for (const scheme of Object.keys(gk.strategy(name)?.securitySchemes ?? {})) if (!out.includes(scheme)) out.push(scheme)
    }
    return out
  }

  function addSchemes (doc: Json): Json {
    const gk = app.gatekeeper
    const schemes: Json = {}
    for (const name of gk.strategies()) Object.assign(schemes, gk.strategy(name)?.securitySchemes ?? {})
    const components = (doc.components ?? {}) as Json
    components.securitySchemes = { ...schemes, ...(components.securitySchemes as Json | undefined) }
    doc.components = components
    return doc
  }

  const transform: Transform = (input) => {
    // Swagger resolves each route's security against these while it walks the routes.
    if (input.openapiObject !== undefined) addSchemes(input.openapiObject as Json)
    const result = userTransform === undefined ? { schema: input.schema, url: input.url } : userTransform(input)
    const entry = input.route.config?.[kRoute as unknown as string] as { policy: RoutePolicy | null } | undefined
    const policy = entry?.policy
    if (policy === null || policy === undefined) return result
    const schema: Json = { ...(result.schema ?? {}) }
    if (schema.security === undefined) {
      schema.security = policy.public
        ? []
        : schemesOf(policy.strategies).map((s) => ({ [s]: [] }))
      if (policy.optional && !policy.public) (schema.security as Json[]).push({})
    }
    const requires = requirementsOf(policy)
    if (requires !== null && schema['x-gatekeeper'] === undefined) schema['x-gatekeeper'] = requires
    return { ...result, schema }
  }

  const transformObject: TransformObject = (input) => {
    const doc = userTransformObject === undefined ? (input.openapiObject ?? input.swaggerObject ?? {}) : userTransformObject(input)
    return input.openapiObject === undefined ? doc : addSchemes({ ...doc })
  }

  return { ...options, transform, transformObject } as T
}
