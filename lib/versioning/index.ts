export { versioning, type VersionHelper } from './plugin.js'
export { type DateInput, type VersioningOptions, type VersionOptions } from './options.js'
export { deprecationValue, sunsetValue } from './headers.js'

/** The versioning plugin, as the default export: `app.register(import('fastify-gatekeeper/versioning'), options)`. */
export { versioning as default } from './plugin.js'
