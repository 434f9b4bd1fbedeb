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

/** Replaces the values of credential-looking query parameters, and anything shaped like our credentials in the query, with `[Redacted]`. */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q) + url.slice(q).replace(SECRET_QUERY, '$1[Redacted]').replace(SECRET_SHAPES, '[Redacted]')
}

interface SerializableRequest {
  method: string
  url: string
  ip?: string
  host?: string
  socket?: { remotePort?: number }
}

/**
 * Fastify logger options with the redaction list, a request serializer
 * that scrubs credential-looking query parameters from logged URLs, and a
 * hook that scrubs them from log messages too.
 */
export function secureLogger (base: Record<string, unknown> = {}): Record<string, unknown> {
  const redact = base.redact as string[] | { paths: string[] } | undefined
  const extra = Array.isArray(redact) ? redact : redact?.paths ?? []
  const hooks = base.hooks as { logMethod?: (args: unknown[], method: (...a: unknown[]) => void, level: number) => void } | undefined
  return {
    ...base,
    redact: { paths: [...REDACT_PATHS, ...extra], censor: '[Redacted]' },
    hooks: {
      ...hooks,
      // Fastify's own messages may carry a raw URL ("Route GET:/x?token=… not found"): scrub them like logged URLs.
      logMethod (this: unknown, args: unknown[], method: (...a: unknown[]) => void, level: number) {
        const scrubbed = args.map((a) => typeof a === 'string' && a.includes('?') ? redactUrl(a) : a)
        if (hooks?.logMethod === undefined) method.apply(this, scrubbed)
        else hooks.logMethod.call(this, scrubbed, method, level)
      }
    },
    serializers: {
      ...(base.serializers as Record<string, unknown> | undefined),
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
