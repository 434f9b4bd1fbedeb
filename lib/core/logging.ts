import { createHmac, randomBytes } from 'node:crypto'
import { fieldOf, recordOf, stringsOf } from './json.js'

/**
 * Logger settings that keep secrets out of logs. Pino's redaction is set when
 * Fastify is created, so a plugin cannot add it afterwards: pass
 * `Fastify({ logger: secureLogger() })` (or merge {@link REDACT_PATHS} into
 * your own `redact` list).
 */

/** Paths pino censors: credential headers and secret body fields wherever they are logged. */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  // A request the HTTP parser refused: Fastify logs it at trace level with its raw bytes, credentials included.
  'err.rawPacket',
  'error.rawPacket',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'body.password',
  'body.currentPassword',
  'body.newPassword',
  'body.refreshToken',
  'body.accessToken',
  'body.token',
  'body.key',
  'body.client_secret',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refreshToken',
  '*.accessToken',
  '*.apiKey',
  '*.client_secret'
])

const SECRET_QUERY = /([?&](?:access_token|token|api_key|apikey|key|refresh_token|password|client_secret|code)=)[^&#]*/gi
// Our credentials by shape, under any parameter name: a JWS (its header always starts `{"`), an API key, a refresh token.
const SECRET_SHAPES = /eyJ[\w-]*\.[\w-]*\.[\w-]*|[a-z0-9]{2,8}_[0-9A-Za-z]{36}|(?<![\w-])[\w-]{43}(?![\w-])/g

/**
 * Replaces the values of credential-looking query parameters, and anything
 * shaped like our credentials in the path or the query (a key pasted into
 * `DELETE /api/keys/:id`), with `[Redacted]`.
 */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url.replace(SECRET_SHAPES, '[Redacted]')
  return url.slice(0, q).replace(SECRET_SHAPES, '[Redacted]') + url.slice(q).replace(SECRET_QUERY, '$1[Redacted]').replace(SECRET_SHAPES, '[Redacted]')
}

/** A log message with URLs and anything shaped like our credentials scrubbed. */
function scrubMessage (text: string): string {
  return text.includes('?') ? redactUrl(text) : text.replace(SECRET_SHAPES, '[Redacted]')
}

// Per process: fingerprints correlate attempts within a process and cannot be reversed or looked up elsewhere.
const FINGERPRINT_KEY = randomBytes(32)

/**
 * A short keyed fingerprint of a value that must not be logged verbatim (an
 * identifier that failed validation may be a password or a secret typed in
 * the wrong field): `fp_` and 12 base64url characters of
 * HMAC-SHA256 under a random key of this process. The same value gives the
 * same fingerprint within the process, so repeated attempts can be told
 * apart and correlated; nothing about the value can be learnt from it.
 */
export function fingerprint (value: string): string {
  return `fp_${createHmac('sha256', FINGERPRINT_KEY).update(value).digest('base64url').slice(0, 12)}`
}

interface SerializableRequest {
  method: string
  url: string
  ip?: string
  host?: string
  socket?: { remotePort?: number }
}

/**
 * Fastify logger options with the redaction list (the raw bytes of a
 * request the HTTP parser refused included), a request serializer that
 * scrubs credential-looking query parameters and credential-shaped path
 * segments from logged URLs, and a hook that scrubs them from log messages
 * too.
 */
export function secureLogger (base: Record<string, unknown> = {}): Record<string, unknown> {
  const redact = base.redact
  const extra = stringsOf(Array.isArray(redact) ? redact : fieldOf(redact, 'paths'))
  const hooks = recordOf(base.hooks)
  const userLogMethod = hooks.logMethod
  return {
    ...base,
    redact: { paths: [...REDACT_PATHS, ...extra], censor: '[Redacted]' },
    hooks: {
      ...hooks,
      // Fastify's own messages may carry a raw URL ("Route GET:/x/<key>?token=… not found"): scrub them like logged URLs.
      logMethod (this: unknown, args: unknown[], method: (...a: unknown[]) => void, level: number) {
        const scrubbed = args.map((a) => typeof a === 'string' ? scrubMessage(a) : a)
        if (typeof userLogMethod !== 'function') method.apply(this, scrubbed)
        else userLogMethod.call(this, scrubbed, method, level)
      }
    },
    serializers: {
      ...recordOf(base.serializers),
      req (req: SerializableRequest) {
        return {
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort
        }
      }
    }
  }
}
