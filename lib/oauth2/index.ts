/**
 * `fastify-gatekeeper/oauth2`: the `oauth2` plugin (client-credentials grant
 * and OpenID Connect login), its client service, and (re-exported from
 * the store contract) the client and identity repository types.
 */
export { oauth2, type OAuth2Api, type OAuth2Options } from './plugin.js'
export type { ClientApi, ClientInfo, CreateClientInput, CreatedClient, RotatedClient } from './clients.js'
export type { IdentityRecord, IdentityRepository, OAuthClientPatch, OAuthClientRecord, OAuthClientRepository } from '../stores/types.js'
export type { OidcOptions, OidcProviderOptions } from './oidc-options.js'

/** The oauth2 plugin, as the default export: `app.register(import('fastify-gatekeeper/oauth2'), options)`. */
export { oauth2 as default } from './plugin.js'
