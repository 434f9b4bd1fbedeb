import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'

/** Methods that must not change state (RFC 9110 §9.2.1); they need no CSRF check. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The CSRF defence of cookie-authenticated requests. */
export interface CsrfOptions {
  /** The custom request header every unsafe cookie-authenticated request must carry (default `x-gk-csrf`). */
  header: string
  /**
   * Origins allowed to send unsafe requests (`https://app.example`).
   * `null`: only the request's own origin (`protocol://host`).
   */
  origins: readonly string[] | null
}

function forbidden (): never {
  throw new errors.GK_FORBIDDEN()
}

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? forbidden() : value
}

/** The two checks: `origin` (browser fetch metadata and Origin) and `full` (origin plus the custom header). */
export interface CsrfChecks {
  /**
   * Refuses an unsafe request whose browser says it comes from another site:
   * `Sec-Fetch-Site`, when sent, must be `same-origin`; `Origin`, when sent,
   * must be allowed (never the opaque `null`). Clients that are not browsers
   * send neither and pass.
   */
  origin: (request: FastifyRequest) => void
  /**
   * The origin check plus the custom header, which must be present and not
   * empty: a cross-site page cannot add a custom header without a CORS
   * preflight, and an HTML form cannot at all.
   */
  full: (request: FastifyRequest) => void
}

/** Builds the CSRF checks. Safe methods (GET, HEAD, OPTIONS) always pass. */
export function createCsrfChecks (opts: CsrfOptions): CsrfChecks {
  const header = opts.header.toLowerCase()
  const origins = opts.origins === null ? null : new Set(opts.origins)
  function origin (request: FastifyRequest): void {
    if (SAFE_METHODS.has(request.method)) return
    const site = single(request.headers['sec-fetch-site'])
    if (site !== undefined && site !== 'same-origin') forbidden()
    const from = single(request.headers.origin)
    if (from !== undefined) {
      const ok = origins === null ? from === `${request.protocol}://${request.host}` : origins.has(from)
      if (!ok) forbidden()
    }
  }
  function full (request: FastifyRequest): void {
    if (SAFE_METHODS.has(request.method)) return
    origin(request)
    const token = single(request.headers[header])
    if (token === undefined || token.length === 0) forbidden()
  }
  return { origin, full }
}
