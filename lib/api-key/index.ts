/**
 * `fastify-gatekeeper/api-key`: the `apiKey` plugin, its service type and
 * the key format helpers (for secret scanners and users' own tooling).
 */
export { apiKey, type ApiKeyOptions } from './plugin.js'
export type { ApiKeyService, ApiKeyInfo, CreateApiKeyInput, CreatedApiKey, RotatedApiKey } from './service.js'
export { generateKey, isWellFormed, visibleStart, keyLength, isValidPrefix, BASE62, RANDOM_LENGTH, CHECKSUM_LENGTH } from './format.js'
export { createHasher, hashesEqual, type KeyHasher } from './hash.js'

/** The apiKey plugin, as the default export: `app.register(import('fastify-gatekeeper/api-key'), options)`. */
export { apiKey as default } from './plugin.js'
