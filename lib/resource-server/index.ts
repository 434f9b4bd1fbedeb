/**
 * `fastify-gatekeeper/resource-server`: the `resourceServer` plugin (also
 * the default export), its options and service types, the provider presets
 * and the audit event catalogue.
 */
import { resourceServer } from './plugin.js'

export { resourceServer, type ResourceServerApi, type ResourceServerOptions } from './plugin.js'
export type { IntrospectionOptions, IssuerOptions, FetchLike } from './options.js'
export type { IssuerStatus } from './issuer.js'
export { PRESET_NAMES, type ClaimMapping, type PresetName } from './presets.js'
export { RESOURCE_SERVER_EVENTS, type ResourceServerEvents } from './events.js'
export { STRATEGY_NAME } from './claims.js'
export default resourceServer
