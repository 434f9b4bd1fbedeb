/**
 * `fastify-gatekeeper/oauth2`: the `oauth2` plugin (client-credentials
 * grant), its client service and the client repository contract.
 */
export { oauth2, type OAuth2Api, type OAuth2Options } from './plugin.js'
export type { ClientApi, ClientInfo, CreateClientInput, CreatedClient, RotatedClient } from './clients.js'
export type { ClientPatch, ClientRecord, ClientRepository } from './types.js'
export { memoryClients } from './memory.js'
export { OAuthError, OAUTH_ERRORS, type OAuthErrorName } from './errors.js'
