import type { FastifyInstance } from 'fastify'
import type { RoutePolicy } from './policy.js'
import { kRoute } from './symbols.js'
import type { Strategy } from './types.js'
import { isRecord, numbersOf, recordOf, type JsonObject } from './json.js'

type Json = JsonObject

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
  if (p.kind !== null) out.kind = p.kind
  return p.public || Object.keys(out).length === 0 ? null : out
}

interface TransformInput { schema: Json | undefined, url: string, route: { method: string | string[], url: string, config?: object }, [k: string]: unknown }
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
 * The route-schema key through which plugins announce the `GK_` error
 * statuses a route may answer beyond those its policy implies (a login's
 * 401 and 429, a version's 410); {@link gatekeeperOpenApi} turns them into
 * responses and removes the key.
 */
export const RESPONSES_HINT = 'x-gatekeeper-responses'

/** The operation extension that states a route's roles, permissions and other requirements (kept when the route's schema sets it). */
export const OPENAPI_EXTENSION = 'x-gatekeeper'

/** The body of every `GK_` error, as a JSON schema (`components.schemas.GatekeeperError`). */
export const GATEKEEPER_ERROR_SCHEMA = Object.freeze({
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer', example: 401 },
    code: { type: 'string', pattern: '^GK_[A-Z_]+$', example: 'GK_UNAUTHORIZED' },
    error: { type: 'string', example: 'Unauthorized' },
    message: { type: 'string' }
  }
})

const RESPONSES: Record<number, { name: string, description: string, header?: [string, string] }> = {
  400: { name: 'GatekeeperInvalidRequest', description: 'Malformed request or credential (GK_INVALID_REQUEST)' },
  401: { name: 'GatekeeperUnauthorized', description: 'No valid credential (GK_UNAUTHORIZED, GK_TOKEN_INVALID, GK_TOKEN_EXPIRED, GK_INVALID_CREDENTIALS, GK_INVALID_GRANT)', header: ['WWW-Authenticate', 'The challenge, naming the scheme of the credential presented (RFC 9110 §11.6.1, RFC 6750 §3)'] },
  403: { name: 'GatekeeperForbidden', description: 'Authenticated without the role, scope or permission, or refused as cross-site (GK_FORBIDDEN)', header: ['WWW-Authenticate', 'The challenge, with error="insufficient_scope" when a grant is missing (RFC 6750 §3)'] },
  409: { name: 'GatekeeperConflict', description: 'A unique value is taken (GK_CONFLICT)' },
  410: { name: 'GatekeeperVersionGone', description: 'The API version is past its sunset (GK_VERSION_GONE)' },
  429: { name: 'GatekeeperTooManyRequests', description: 'Rate limited or the account locked (GK_RATE_LIMITED, GK_ACCOUNT_LOCKED)', header: ['Retry-After', 'Seconds to wait before retrying'] }
}

/** A schema with `statuses` added to its {@link RESPONSES_HINT}. */
export function withResponses<T extends object> (schema: T | undefined, statuses: readonly number[]): T
export function withResponses (schema: object | undefined, statuses: readonly number[]): Json {
  const known = isRecord(schema) ? numbersOf(schema[RESPONSES_HINT]) : []
  return { ...schema, [RESPONSES_HINT]: [...new Set([...known, ...statuses])].sort((a, b) => a - b) }
}

/** Whether `v` is a compiled route policy (what the core keeps in a route's config). */
function isRoutePolicy (v: unknown): v is RoutePolicy {
  return isRecord(v) && typeof v.public === 'boolean' && Array.isArray(v.scopes) && Array.isArray(v.anyOf)
}

/** The policy the core compiled for a route, read from the route's config. */
function routePolicy (config: object | undefined): RoutePolicy | null {
  if (config === undefined || !(kRoute in config)) return null
  const entry = config[kRoute]
  return isRecord(entry) && isRoutePolicy(entry.policy) ? entry.policy : null
}

const isOAuth = (scheme: Record<string, unknown>): boolean => scheme.type === 'oauth2' || scheme.type === 'openIdConnect'

/**
 * Wraps `@fastify/swagger` options so the generated document states the
 * gatekeeper's protection as the server enforces it:
 *
 * - `components.securitySchemes` from the registered strategies (`bearerAuth`,
 *   `cookieAuth`, `apiKeyAuth`, and `oauth2` with the client-credentials endpoint);
 * - on every route, `security` from what it really accepts: `[]` for public
 *   routes, one alternative per scheme of each accepted strategy otherwise,
 *   leaving out strategies that cannot authenticate the route's
 *   `config.auth.kind` (API keys on routes for people); required scopes are
 *   listed in the OAuth 2.0 requirements;
 * - `x-gatekeeper` on each operation that asks for more than authentication,
 *   only what it asks: `roles` (any of), `permissions` and `scopes` (all of),
 *   `anyOf` alternatives, `owner: true`, `kind`;
 * - 401 and 403 on protected routes, and the statuses plugins announce (429,
 *   410, …), as responses with the `GatekeeperError` body schema.
 *
 * A `security` or a response written in a route's own schema is kept.
 *
 * ```ts
 * await app.register(swagger, gatekeeperOpenApi(app, { openapi: { info: { title: 'API', version: '1' } } }))
 * ```
 */
export function gatekeeperOpenApi (app: FastifyInstance): SwaggerOptionsLike
export function gatekeeperOpenApi<T extends object> (app: FastifyInstance, options: T): T
export function gatekeeperOpenApi (app: FastifyInstance, options: SwaggerOptionsLike = {}): SwaggerOptionsLike {
  const userTransform = options.transform
  const userTransformObject = options.transformObject

  function strategiesOf (policy: RoutePolicy): Strategy[] {
    const gk = app.gatekeeper
    const out: Strategy[] = []
    for (const name of policy.strategies ?? gk.strategies()) {
      const s = gk.strategy(name)
      if (s === undefined) continue
      // A strategy that cannot authenticate the kind of caller the route takes does not open it.
      if (policy.kind !== null && s.kinds !== undefined && !s.kinds.includes(policy.kind)) continue
      out.push(s)
    }
    return out
  }

  function requirements (policy: RoutePolicy): Json[] {
    const out: Json[] = []
    const seen = new Set<string>()
    for (const s of strategiesOf(policy)) {
      let schemes = Object.entries(s.securitySchemes ?? {})
      // A credential without scopes holds no scope: where a strategy also takes OAuth 2.0
      // tokens, a route requiring scopes is opened by those, not by its scope-less schemes.
      if (policy.scopes.length > 0 && schemes.some(([, scheme]) => isOAuth(scheme))) schemes = schemes.filter(([, scheme]) => isOAuth(scheme))
      for (const [name, scheme] of schemes) {
        if (seen.has(name)) continue
        seen.add(name)
        // OpenAPI 3.0 §4.8.30: only OAuth 2.0 and OpenID Connect requirements list scopes.
        out.push({ [name]: isOAuth(scheme) ? [...policy.scopes] : [] })
      }
    }
    if (policy.optional) out.push({})
    return out
  }

  function addSchemes (doc: Json): Json {
    const gk = app.gatekeeper
    const schemes: Json = {}
    for (const name of gk.strategies()) Object.assign(schemes, gk.strategy(name)?.securitySchemes ?? {})
    const components = recordOf(doc.components)
    components.securitySchemes = { ...schemes, ...recordOf(components.securitySchemes) }
    doc.components = components
    return doc
  }

  const transform: Transform = (input) => {
    // Swagger resolves each route's security against these while it walks the routes.
    if (isRecord(input.openapiObject)) addSchemes(input.openapiObject)
    const result = userTransform === undefined ? { schema: input.schema, url: input.url } : userTransform(input)
    const policy = routePolicy(input.route.config)
    if (policy === null) return result
    let schema: Json = { ...(result.schema ?? {}) }
    if (schema.security === undefined) schema.security = policy.public ? [] : requirements(policy)
    const requires = requirementsOf(policy)
    if (requires !== null && schema[OPENAPI_EXTENSION] === undefined) schema[OPENAPI_EXTENSION] = requires
    if (!policy.public) schema = withResponses(schema, [401, 403])
    return { ...result, schema }
  }

  /** The scopes routes require, for the OAuth 2.0 flows' scope maps. */
  function routeScopes (): string[] {
    return [...new Set(app.gatekeeper.routes().flatMap((r) => r.scopes))].sort()
  }

  function finish (doc: Json): Json {
    addSchemes(doc)
    const components = recordOf(doc.components)
    const schemas = recordOf(components.schemas)
    schemas.GatekeeperError ??= GATEKEEPER_ERROR_SCHEMA
    components.schemas = schemas
    // OAuth 2.0 flows must list their scopes (OpenAPI 3.0 §4.8.29): the ones routes require.
    const gkSchemes = new Set(app.gatekeeper.strategies().flatMap((n) => Object.keys(app.gatekeeper.strategy(n)?.securitySchemes ?? {})))
    for (const [name, scheme] of Object.entries(recordOf(components.securitySchemes))) {
      if (!gkSchemes.has(name) || !isRecord(scheme) || scheme.type !== 'oauth2') continue
      const scopes = Object.fromEntries(routeScopes().map((s) => [s, `Required by the routes that name ${s}`]))
      const filled: Record<string, Json> = {}
      for (const [flow, f] of Object.entries(recordOf(scheme.flows))) {
        const fields = recordOf(f)
        filled[flow] = { ...fields, scopes: { ...scopes, ...recordOf(fields.scopes) } }
      }
      components.securitySchemes = { ...recordOf(components.securitySchemes), [name]: { ...scheme, flows: filled } }
    }
    const responses = recordOf(components.responses)
    for (const path of Object.values(recordOf(doc.paths))) {
      for (const o of Object.values(recordOf(path))) {
        if (!isRecord(o)) continue
        const statuses = o[RESPONSES_HINT]
        delete o[RESPONSES_HINT]
        if (!Array.isArray(statuses)) continue
        const opResponses = recordOf(o.responses)
        for (const status of numbersOf(statuses)) {
          if (opResponses[String(status)] !== undefined) continue
          const r = RESPONSES[status]
          const name = r?.name ?? `GatekeeperError${status}`
          responses[name] ??= {
            description: r?.description ?? `GK_ error ${status}`,
            ...(r?.header === undefined ? {} : { headers: { [r.header[0]]: { description: r.header[1], schema: { type: r.header[0] === 'Retry-After' ? 'integer' : 'string' } } } }),
            content: { 'application/json': { schema: { $ref: '#/components/schemas/GatekeeperError' } } }
          }
          opResponses[String(status)] = { $ref: `#/components/responses/${name}` }
        }
        o.responses = opResponses
      }
    }
    if (Object.keys(responses).length > 0) components.responses = responses
    return doc
  }

  const transformObject: TransformObject = (input) => {
    const doc = userTransformObject === undefined ? (input.openapiObject ?? input.swaggerObject ?? {}) : userTransformObject(input)
    return input.openapiObject === undefined ? doc : finish({ ...doc })
  }

  return { ...options, transform, transformObject }
}
