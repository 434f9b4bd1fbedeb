/** The RFC 8414 §3 well-known path of authorization-server metadata. */
export const METADATA_PATH = '/.well-known/oauth-authorization-server'

/** What the metadata of the client-credentials token endpoint is built from. */
export interface MetadataInput {
  /** The jwt plugin's `issuer`. */
  issuer: string
  /** The token endpoint's path (`/api/oauth/token`). */
  tokenPath: string
  /** The JWK Set's path, when tokens are signed with published keys. */
  jwksPath: string | null
  /** Scopes the API's routes require. */
  scopes: readonly string[]
  /** The DPoP proof algorithms accepted, when the dpop plugin is registered. */
  dpopAlgorithms?: readonly string[] | null
}

/** RFC 8414 §2 metadata of a server that grants client credentials only. */
export interface AuthorizationServerMetadata {
  issuer: string
  token_endpoint: string
  jwks_uri?: string
  scopes_supported: string[]
  response_types_supported: string[]
  grant_types_supported: string[]
  token_endpoint_auth_methods_supported: string[]
  /** RFC 9449 §5.1. */
  dpop_signing_alg_values_supported?: string[]
}

/**
 * The issuer as an RFC 8414 §2 issuer identifier (an https URL without
 * query or fragment; http only on a loopback host, for development), or
 * `null` when it is not one.
 */
export function issuerUrl (issuer: string): URL | null {
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    return null
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || issuer.includes('?') || issuer.includes('#')) return null
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return null
  return url
}

/**
 * Where the metadata is served for this issuer (RFC 8414 §3.1): the
 * well-known path, followed by the issuer's own path when it has one.
 */
export function metadataPath (issuer: URL): string {
  const path = issuer.pathname.replace(/\/+$/, '')
  return path === '' ? METADATA_PATH : `${METADATA_PATH}${path}`
}

/** The metadata document; endpoints are absolute URLs on the issuer's origin. */
export function buildMetadata (input: MetadataInput, issuer: URL): AuthorizationServerMetadata {
  const at = (path: string): string => new URL(path, issuer.origin).href
  return {
    // §3.3: exactly the issuer identifier the client discovered from.
    issuer: input.issuer,
    token_endpoint: at(input.tokenPath),
    ...(input.jwksPath === null ? {} : { jwks_uri: at(input.jwksPath) }),
    scopes_supported: [...new Set(input.scopes)].sort(),
    // No authorization endpoint: no response type is supported.
    response_types_supported: [],
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    ...(input.dpopAlgorithms == null ? {} : { dpop_signing_alg_values_supported: [...input.dpopAlgorithms] })
  }
}
