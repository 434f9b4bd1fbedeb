import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { configError, errors } from '../core/errors.js'
import { declareService } from '../core/services.js'
import { isValidPrefix } from '../api-key/format.js'
import { createHasher, MIN_PEPPER_BYTES, pepperBytes } from '../api-key/hash.js'
import { tokenEndpoint } from './client-credentials.js'
import { clientService, type ClientApi } from './clients.js'
import { buildMetadata, issuerUrl, METADATA_PATH, metadataPath } from './metadata.js'
import { normalizeOidc, OIDC_KEYS, type NormalizedOidc, type OidcOptions } from './oidc-options.js'
import { loadOpenIdClient, oidcRoutes } from './oidc-routes.js'
import { storeRepository } from '../stores/repository.js'
import type { GatekeeperStore } from '../stores/types.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

/** `app.gatekeeper.oauth2`: what the `oauth2` plugin exposes. */
export interface OAuth2Api {
  /** Clients of the client-credentials grant: `create`, `rotate`, `revoke`, `list`. */
  clients: ClientApi
  /**
   * Starts linking an identity of `provider` to the signed-in person of
   * `request` (what `POST /api/oauth/:provider/link` does, for a route of your
   * own): sets the sealed state cookie on `reply` and resolves to the provider
   * URL to send the browser to; the provider's callback then links the
   * identity to that user. `GK_UNAUTHORIZED` without a signed-in caller,
   * `GK_FORBIDDEN` for an application, `GK_NOT_FOUND` for an unknown provider.
   */
  link (provider: string, request: FastifyRequest, reply: FastifyReply): Promise<{ url: string }>
}

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** OAuth 2.0 clients; set when the `oauth2` plugin is registered. */
    readonly oauth2: OAuth2Api
  }
}

declareService('oauth2', 'oauth2')

/** Options of the `oauth2` plugin: the client-credentials grant, and OpenID Connect login when `providers` are given. */
export interface OAuth2Options extends OidcOptions {
  /** HMAC-SHA256 key (at least 32 bytes) for hashing client secrets; plain SHA-256 without it. */
  pepper?: string | Uint8Array
  /** The prefix of client secrets, 2–8 lowercase letters or digits (default `'gkcs'`): secrets look like `gkcs_…`. */
  secretPrefix?: string
  /** The token endpoint of the client-credentials grant (default `{ path: '/api/oauth/token' }`); `false` registers none. */
  clientCredentials?: { path?: string } | false
}

const KEYS = ['pepper', 'secretPrefix', 'clientCredentials', ...OIDC_KEYS]

/** The path of a provider's callback route (its redirect URI is `redirectBase` + this). */
export const callbackPath = (name: string): string => `/api/oauth/${name}/callback`

interface Normalized {
  readonly pepper: Buffer | undefined
  readonly secretPrefix: string
  readonly tokenPath: string | null
  readonly oidc: NormalizedOidc | null
}

/** Validates and normalises the options once, at registration. */
export function normalizeOptions (opts: OAuth2Options = {}): Normalized {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) configError('oauth2 options must be an object')
  // Options of an earlier design: clients and identity links now live in the store.
  if ('clients' in opts) configError("oauth2 has no 'clients' option: clients live in the store (store.oauthClients)")
  if ('identities' in opts) configError("oauth2 has no 'identities' option: identity links live in the store (store.identities)")
  for (const k of Object.keys(opts)) if (!KEYS.includes(k)) configError(`unknown oauth2 option '${k}' (allowed: ${KEYS.join(', ')})`)
  let pepper: Buffer | undefined
  if (opts.pepper !== undefined) {
    if (typeof opts.pepper !== 'string' && !(opts.pepper instanceof Uint8Array)) configError('oauth2 pepper must be a string or a Buffer')
    pepper = pepperBytes(opts.pepper)
    if (pepper.length < MIN_PEPPER_BYTES) configError(`oauth2 pepper must be at least ${MIN_PEPPER_BYTES} bytes: generate one with crypto.randomBytes(32).toString('base64')`)
  }
  const secretPrefix = opts.secretPrefix ?? 'gkcs'
  if (!isValidPrefix(secretPrefix)) configError("oauth2 secretPrefix must be 2-8 lowercase letters or digits, such as 'gkcs'")
  let tokenPath: string | null = '/api/oauth/token'
  const cc = opts.clientCredentials
  if (cc === false) tokenPath = null
  else if (cc !== undefined) {
    if (cc === null || typeof cc !== 'object' || Array.isArray(cc)) configError('oauth2 clientCredentials must be { path } or false')
    for (const k of Object.keys(cc)) if (k !== 'path') configError(`unknown option oauth2 clientCredentials.${k} (allowed: path)`)
    if (cc.path !== undefined) {
      if (typeof cc.path !== 'string' || !/^\/[A-Za-z0-9/_.-]{0,200}$/.test(cc.path)) configError("oauth2 clientCredentials.path must be a path such as '/api/oauth/token'")
      tokenPath = cc.path
    }
  }
  return Object.freeze({ pepper, secretPrefix, tokenPath, oidc: normalizeOidc(opts, callbackPath) })
}

const METHODS = {
  oauthClients: ['create', 'findById', 'update', 'list'],
  identities: ['create', 'find', 'listByUser', 'delete']
} as const

/** The store's repository `part`, checked at registration: a store without it cannot serve the oauth2 plugin. */
function repository<K extends keyof typeof METHODS> (store: GatekeeperStore, part: K, why: string): NonNullable<GatekeeperStore[K]> {
  return storeRepository(store, part, METHODS[part],
    `the oauth2 plugin needs store.${part} for ${why}: this store has none (every bundled store has it; a custom store must implement it)`)
}

/** RFC 8414 metadata of the token endpoint, so OAuth clients can configure themselves by discovery. */
function serveMetadata (app: FastifyInstance, tokenPath: string): void {
  const gk = app.gatekeeper
  const issuer = issuerUrl(gk.jwt.issuer)
  if (issuer === null) {
    app.log.warn({ issuer: gk.jwt.issuer }, `gatekeeper: no ${METADATA_PATH} metadata: the jwt issuer is not an https URL (RFC 8414 §2); set issuer to the API's URL, such as 'https://api.example', to let OAuth clients discover the token endpoint`)
    return
  }
  let body: string | null = null
  app.get(metadataPath(issuer), { config: { auth: false } }, async (_request, reply) => {
    // Built on first use, once every route (and the scopes they require) is known.
    body ??= JSON.stringify(buildMetadata({ issuer: gk.jwt.issuer, tokenPath, jwksPath: gk.jwt.jwksPath, scopes: gk.routes().flatMap((r) => r.scopes), dpopAlgorithms: gk.has('dpop') ? gk.dpop.algorithms : null }, issuer))
    reply.type('application/json').header('cache-control', 'public, max-age=300')
    return body
  })
}

/**
 * OpenAPI: the jwt strategy also takes the tokens of this endpoint, so it
 * gains an OAuth 2.0 client-credentials scheme; routes list their required
 * scopes in its requirements (gatekeeperOpenApi fills the flow's scope map).
 */
function documentFlow (app: FastifyInstance, tokenPath: string): void {
  const gk = app.gatekeeper
  const jwtStrategy = gk.strategy('jwt')
  if (jwtStrategy === undefined) return
  const issuer = issuerUrl(gk.jwt.issuer)
  const tokenUrl = issuer === null ? tokenPath : new URL(tokenPath, issuer.origin).href
  jwtStrategy.securitySchemes = {
    ...jwtStrategy.securitySchemes,
    oauth2ClientCredentials: { type: 'oauth2', description: 'Access tokens of the client-credentials grant', flows: { clientCredentials: { tokenUrl, scopes: {} } } }
  }
}

async function oauth2Plugin (app: FastifyInstance, opts: OAuth2Options): Promise<void> {
  requirePlugins(app, 'oauth2', ['gatekeeper', 'gatekeeper-jwt'])
  const o = normalizeOptions(opts)
  const gk = app.gatekeeper
  if (gk.has('oauth2')) configError('the oauth2 plugin is registered twice')
  const clients = clientService(gk, repository(gk.store, 'oauthClients', 'the clients of the client-credentials grant'), createHasher(o.pepper), o.secretPrefix)
  const api: OAuth2Api = { clients, link: async () => { throw new errors.GK_NOT_FOUND('provider') } }
  gk.provide('oauth2', api)
  const path = o.tokenPath
  // Not wrapped with fastify-plugin: the form parser and error handler stay inside this context.
  if (path !== null) {
    await app.register(tokenEndpoint, { gk, clients, path })
    serveMetadata(app, path)
    documentFlow(app, path)
  }
  if (o.oidc !== null) {
    const client = await loadOpenIdClient()
    if (!app.hasDecorator('parseCookie')) await app.register(cookie)
    const login = oidcRoutes(app, o.oidc, client, repository(gk.store, 'identities', 'the links of OpenID Connect logins to users'))
    api.link = async (provider, request, reply) => await login.link(provider, request, reply)
  }
}

/**
 * The `oauth2` plugin: the client-credentials grant (RFC 6749 §4.4) for
 * machine clients, answering access tokens that the `jwt` strategy verifies
 * as `kind: 'application'` with the granted scopes; and, with `providers`,
 * "Log in with …" over OpenID Connect. Register it after the core
 * `gatekeeper` and the `jwt` plugins.
 */
export const oauth2 = fp(oauth2Plugin, { fastify: '5.x', name: 'gatekeeper-oauth2' })
