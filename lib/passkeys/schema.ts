import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errors, isGatekeeperError } from '../core/errors.js'
import { withResponses } from '../core/openapi.js'

/** Ceremony bodies carry an attestation of a few kilobytes at most; refuse anything bigger unread. */
export const BODY_LIMIT = 64 * 1024

/** Longest passkey name. */
export const MAX_NAME = 64

const B64URL = { type: 'string', minLength: 1, maxLength: 16_384, pattern: '^[A-Za-z0-9_-]+={0,2}$' } as const
const HANDLE = { type: 'string', minLength: 1, maxLength: 128 } as const
const NAME = { type: 'string', minLength: 1, maxLength: MAX_NAME } as const

/** The JSON form of a `PublicKeyCredential` from `navigator.credentials.create()` (what @simplewebauthn/browser's `startRegistration` returns). */
export const REGISTRATION_RESPONSE = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  properties: {
    id: B64URL,
    rawId: B64URL,
    type: { type: 'string', const: 'public-key' },
    authenticatorAttachment: { type: 'string', maxLength: 32 },
    clientExtensionResults: { type: 'object' },
    response: {
      type: 'object',
      required: ['clientDataJSON', 'attestationObject'],
      properties: {
        clientDataJSON: B64URL,
        attestationObject: B64URL,
        authenticatorData: B64URL,
        publicKey: B64URL,
        publicKeyAlgorithm: { type: 'integer' },
        transports: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 32 } }
      }
    }
  }
} as const

/** The JSON form of a `PublicKeyCredential` from `navigator.credentials.get()` (what `startAuthentication` returns). */
export const AUTHENTICATION_RESPONSE = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  properties: {
    id: B64URL,
    rawId: B64URL,
    type: { type: 'string', const: 'public-key' },
    authenticatorAttachment: { type: 'string', maxLength: 32 },
    clientExtensionResults: { type: 'object' },
    response: {
      type: 'object',
      required: ['clientDataJSON', 'authenticatorData', 'signature'],
      properties: {
        clientDataJSON: B64URL,
        authenticatorData: B64URL,
        signature: B64URL,
        userHandle: B64URL
      }
    }
  }
} as const

/** A route's body schema: an object of exactly these properties. */
export function body (properties: Record<string, unknown>, required: readonly string[]): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required, properties }
}

export const REGISTER_BODY = body({ challenge: HANDLE, response: REGISTRATION_RESPONSE, name: NAME }, ['challenge', 'response'])
export const LOGIN_BODY = body({ challenge: HANDLE, response: AUTHENTICATION_RESPONSE }, ['challenge', 'response'])
export const RENAME_BODY = body({ name: NAME }, ['name'])
export const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 1024 } } } as const

/**
 * Route-level error handler: body parsing and validation failures become
 * `GK_INVALID_REQUEST`, the rest goes on unchanged.
 */
export function invalidRequestErrors (err: FastifyError, _request: FastifyRequest, _reply: FastifyReply): never {
  if (!isGatekeeperError(err) && (err.validation !== undefined || (typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP_')))) {
    throw new errors.GK_INVALID_REQUEST('body must be a JSON object with the documented fields')
  }
  throw err
}

/** Options of a route with a JSON body. */
export function bodyRoute (schema: Record<string, unknown>, responses: readonly number[]): Record<string, unknown> {
  return { bodyLimit: BODY_LIMIT, schema: withResponses(schema, [400, ...responses]), errorHandler: invalidRequestErrors }
}
