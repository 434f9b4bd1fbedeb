export { versioning, type VersionHelper } from './plugin.js'
export type { DateInput, VersioningOptions, VersionOptions } from './options.js'

/** The versioning plugin, as the default export: `app.register(import('fastify-gatekeeper/versioning'), options)`. */
export { versioning as default } from './plugin.js'
