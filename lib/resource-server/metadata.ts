import type { NormalizedOptions } from './options.js'

/** The RFC 9728 §3 well-known path segment. */
export const WELL_KNOWN = '/.well-known/oauth-protected-resource'

/**
 * The paths this app serves its metadata at: the path-suffixed form for a
 * resource with a path (RFC 9728 §3.1: `/.well-known/oauth-protected-resource/mcp`
 * for `https://api.example/mcp`), and the bare form, which clients that
 * start from the origin try (the MCP authorization spec's fallback).
 */
export function metadataPaths (resource: URL): string[] {
  const path = resource.pathname.replace(/\/+$/, '')
  return path === '' ? [WELL_KNOWN] : [`${WELL_KNOWN}${path}`, WELL_KNOWN]
}

/**
 * The absolute URL of the metadata (RFC 9728 §3.1), named in challenges:
 * built from the configured resource, never from the request's Host header.
 */
export function metadataUrl (resource: URL): string {
  return `${resource.origin}${metadataPaths(resource)[0]}`
}

/** The RFC 9728 §2 document. */
export function metadataDocument (o: NormalizedOptions, dpop?: { readonly algorithms: readonly string[], readonly policy: 'required' | 'allowed' }): Readonly<Record<string, unknown>> {
  const doc: Record<string, unknown> = {
    // §3.3: the client compares it with the identifier it started from, character for character.
    resource: o.resourceId,
    authorization_servers: o.issuers.map((i) => i.issuer),
    // RFC 6750 §2.1 only: tokens in a query string leak into logs (the MCP spec forbids them).
    bearer_methods_supported: ['header']
  }
  if (o.scopes.length > 0) doc.scopes_supported = [...o.scopes]
  if (o.metadata?.resourceName != null) doc.resource_name = o.metadata.resourceName
  if (o.metadata?.documentation != null) doc.resource_documentation = o.metadata.documentation
  // RFC 9728 §2: the proof algorithms accepted, and whether every token must be DPoP-bound.
  if (dpop !== undefined) {
    doc.dpop_signing_alg_values_supported = [...dpop.algorithms]
    doc.dpop_bound_access_tokens_required = dpop.policy === 'required'
  }
  return Object.freeze(doc)
}
