import * as oauth from 'oauth4webapi'
import { ProviderUnavailable } from './keys.js'
import type { FetchLike, NormalizedIssuer } from './options.js'

/** The authorization-server metadata this plugin reads (RFC 8414 §2). */
export interface IssuerMetadata {
  readonly issuer: string
  readonly jwksUri: URL | null
  readonly introspectionEndpoint: URL | null
  readonly authorizationEndpoint: string | null
  readonly tokenEndpoint: string | null
  readonly grantTypes: readonly string[]
  /** Whether it came from OpenID discovery (then OpenAPI can point at it as `openIdConnect`). */
  readonly openid: boolean
}

/**
 * The metadata names another issuer than the one configured: a
 * configuration mistake (fatal at start-up), and an unusable provider for
 * requests (503) when first seen later.
 */
export class IssuerMismatch extends ProviderUnavailable {
  constructor (readonly configured: string, readonly published: string) {
    super('discovery')
    this.message = `the provider's metadata names its issuer '${published}', not '${configured}'; configure exactly that (its tokens carry it)`
    this.name = 'IssuerMismatch'
  }
}

/** An endpoint URL from metadata: https, or http only for a loopback issuer. */
function endpoint (value: unknown, issuer: NormalizedIssuer, name: string): URL | null {
  if (typeof value !== 'string') return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ProviderUnavailable('discovery', { cause: new Error(`${name} is not a URL`) })
  }
  if (url.protocol === 'https:' || (issuer.insecure && url.protocol === 'http:')) return url
  throw new ProviderUnavailable('discovery', { cause: new Error(`${name} is not https`) })
}

/**
 * Reads an issuer's metadata with oauth4webapi: RFC 8414 first
 * (`/.well-known/oauth-authorization-server`, inserted before the issuer's
 * path), then OpenID Connect Discovery (`/.well-known/openid-configuration`,
 * appended). The published `issuer` must equal the configured one exactly
 * (RFC 8414 §3.3): tokens carry it and are matched against it.
 */
export async function discover (issuer: NormalizedIssuer, fetch: FetchLike): Promise<IssuerMetadata> {
  let lastError: unknown = null
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    let response: Response
    try {
      response = await oauth.discoveryRequest(issuer.url, {
        algorithm,
        [oauth.customFetch]: fetch,
        ...(issuer.insecure ? { [oauth.allowInsecureRequests]: true } : {})
      })
    } catch (err) {
      throw new ProviderUnavailable('discovery', { cause: err })
    }
    // Not served in this form: try the other one.
    if (response.status === 404 || response.status === 405) {
      lastError = new Error(`${algorithm} metadata: HTTP ${response.status}`)
      continue
    }
    let as: oauth.AuthorizationServer
    try {
      as = await oauth.processDiscoveryResponse(issuer.url, response)
    } catch (err) {
      const published = (err as { cause?: { body?: { issuer?: unknown } } }).cause?.body?.issuer
      if (typeof published === 'string') throw new IssuerMismatch(issuer.issuer, published)
      throw new ProviderUnavailable('discovery', { cause: err })
    }
    if (as.issuer !== issuer.issuer) throw new IssuerMismatch(issuer.issuer, as.issuer)
    return Object.freeze({
      issuer: as.issuer,
      jwksUri: endpoint(as.jwks_uri, issuer, 'jwks_uri'),
      introspectionEndpoint: endpoint(as.introspection_endpoint, issuer, 'introspection_endpoint'),
      authorizationEndpoint: typeof as.authorization_endpoint === 'string' ? as.authorization_endpoint : null,
      tokenEndpoint: typeof as.token_endpoint === 'string' ? as.token_endpoint : null,
      grantTypes: Object.freeze(Array.isArray(as.grant_types_supported) ? as.grant_types_supported.filter((g): g is string => typeof g === 'string') : ['authorization_code']),
      openid: algorithm === 'oidc'
    })
  }
  throw new ProviderUnavailable('discovery', { cause: lastError })
}
