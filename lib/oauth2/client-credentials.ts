import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { fingerprint } from '../core/logging.js'
import { fieldOf } from '../core/json.js'
import { isIssuedClientId, type ClientApi } from './clients.js'
import { OAuthError } from './errors.js'
import { FORM_BODY_LIMIT, grantScopes, parseBasic, parseForm } from './form.js'

/** What the token endpoint needs, built once by the plugin. */
export interface TokenEndpointOptions {
  gk: Gatekeeper
  clients: ClientApi
  path: string
}

/** RFC 6749 §5.1: token responses and their errors must not be cached. */
function noStore (reply: FastifyReply): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

function credentials (request: FastifyRequest, form: Map<string, string>): { id: string, secret: string } {
  const basic = parseBasic(request.headers.authorization)
  const bodyId = form.get('client_id')
  const bodySecret = form.get('client_secret')
  if (basic !== null) {
    // RFC 6749 §2.3: one authentication method per request.
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'client authenticated twice')
    if (bodyId !== undefined && bodyId !== basic.id) throw new OAuthError('invalid_request', 'client_id differs from the Basic credentials')
    return basic
  }
  if (bodyId === undefined || bodySecret === undefined) throw new OAuthError('invalid_client')
  return { id: bodyId, secret: bodySecret }
}

/**
 * The DPoP key a token request proves it holds; a refused proof is the RFC
 * 9449 §5 and §8 error of a token endpoint (400, no challenge).
 */
async function bindKey (gk: Gatekeeper, request: FastifyRequest, reply: FastifyReply): Promise<string | null> {
  try {
    return gk.has('dpop') ? await gk.dpop.bind(request, reply) : null
  } catch (err) {
    const code = fieldOf(err, 'code')
    if (code === 'GK_DPOP_PROOF_INVALID') throw new OAuthError('invalid_dpop_proof')
    if (code === 'GK_DPOP_NONCE_REQUIRED') throw new OAuthError('use_dpop_nonce')
    throw err
  }
}

/**
 * Registers `POST <path>` (the RFC 6749 §3.2 token endpoint) for the
 * client-credentials grant (§4.4), in its own encapsulated context: the
 * form-body parser and the RFC-shaped error handler apply to it alone.
 */
export async function tokenEndpoint (app: FastifyInstance, opts: TokenEndpointOptions): Promise<void> {
  const { gk, clients } = opts
  // The presented client id, for the audit event of a failure (the request's shape stays as Fastify made it).
  const presentedIds = new WeakMap<FastifyRequest, string>()
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    try {
      done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8')))
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)), undefined)
    }
  })

  app.setErrorHandler((err: FastifyError | OAuthError, request, reply) => {
    let oauth: OAuthError
    if (err instanceof OAuthError) oauth = err
    // Another media type, an oversized or unreadable body: the request is malformed (§5.2 invalid_request).
    else if (err.statusCode === 400 || err.statusCode === 413 || err.statusCode === 415) oauth = new OAuthError('invalid_request', 'send grant_type and the client credentials as application/x-www-form-urlencoded')
    else throw err
    noStore(reply)
    if (oauth.error === 'invalid_client') {
      const presented = presentedIds.get(request)
      // An id of another shape may be a secret sent in the wrong field: only its fingerprint is logged.
      const who = presented === undefined ? { clientId: null } : isIssuedClientId(presented) ? { clientId: presented } : { clientId: null, clientIdFingerprint: fingerprint(presented) }
      gk.record({ type: 'oauth.client_auth_failed', outcome: 'failure', reason: oauth.code, ...who }, request)
      // RFC 6749 §5.2: a 401 names the authentication scheme the client may use.
      reply.header('www-authenticate', `Basic realm="${gk.realm}"`)
    }
    return reply.code(oauth.statusCode).send(oauth.toJSON())
  })

  app.post(opts.path, { config: { auth: false } }, async (request, reply) => {
    const form = request.body
    if (!(form instanceof Map)) throw new OAuthError('invalid_request', 'send grant_type and the client credentials as application/x-www-form-urlencoded')
    const grantType = form.get('grant_type')
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required')
    if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type')
    const presented = credentials(request, form)
    // The id is public; the secret never leaves this function.
    presentedIds.set(request, presented.id.slice(0, 256))
    const client = await clients.authenticate(presented.id, presented.secret)
    if (client === null) throw new OAuthError('invalid_client')
    const scopes = grantScopes(form.get('scope'), client.scopes)
    // RFC 9449 §5: a DPoP proof binds the token to the client's key.
    const jkt = await bindKey(gk, request, reply)
    const token = await gk.tokens.issue({ id: client.id, roles: [] }, { kind: 'application', scopes, clientId: client.id, ...(jkt === null ? {} : { jkt }) })
    gk.record({ type: 'oauth.token_issued', outcome: 'success', subject: client.id, clientId: client.id, scopes, dpop: jkt !== null }, request)
    noStore(reply)
    return { access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn, scope: scopes.join(' ') }
  })
}
