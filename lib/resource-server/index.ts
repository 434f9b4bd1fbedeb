/**
 * `fastify-gatekeeper/resource-server`: the `resourceServer` plugin (also
 * the default export), its options and service types, the provider preset
 * names and the audit event catalogue.
 */
import { resourceServer } from './plugin.js'

export { resourceServer, type ResourceServerApi, type ResourceServerOptions } from './plugin.js'
export type { IntrospectionOptions, IssuerOptions, FetchLike } from './options.js'
export type { IssuerStatus } from './issuer.js'
export type { ClaimMapping, PresetName } from './presets.js'
export type { ResourceServerEvents } from './events.js'
export default resourceServer
