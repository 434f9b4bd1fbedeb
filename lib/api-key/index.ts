/**
 * `fastify-gatekeeper/api-key`: the `apiKey` plugin, its service type and
 * the key format check (for secret scanners).
 */
export { apiKey, type ApiKeyOptions } from './plugin.js'
export type { ApiKeyService, ApiKeyInfo, CreateApiKeyInput, CreatedApiKey, RotatedApiKey } from './service.js'
export { isWellFormed } from './format.js'

/** The apiKey plugin, as the default export: `app.register(import('fastify-gatekeeper/api-key'), options)`. */
export { apiKey as default } from './plugin.js'
