/**
 * `fastify-gatekeeper/oauth2`: the `oauth2` plugin (client-credentials grant
 * and OpenID Connect login), its client service and the client and identity
 * repository contracts.
 */
export { oauth2, type OAuth2Api, type OAuth2Options } from './plugin.js'
export type { ClientApi, ClientInfo, CreateClientInput, CreatedClient, RotatedClient } from './clients.js'
export type { ClientPatch, ClientRecord, ClientRepository, IdentityRecord, IdentityRepository } from './types.js'
export type { OidcOptions, OidcProviderOptions } from './oidc-options.js'
export { memoryClients, memoryIdentities } from './memory.js'
export { STATE_COOKIE } from './state.js'
export { OAuthError, OAUTH_ERRORS, type OAuthErrorName } from './errors.js'
