import type { FastifyRequest } from 'fastify'

const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * An `htu` as compared (RFC 9449 §4.3 item 9): scheme and host lower-cased,
 * the default port dropped, percent-encodings upper-cased and those of
 * unreserved characters decoded (RFC 3986 §6.2.2), query and fragment
 * removed. `null` when it is not an absolute http(s) URL.
 */
export function normalizeHtu (value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return null
  const path = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (m) => {
    const c = String.fromCharCode(parseInt(m.slice(1), 16))
    return UNRESERVED.test(c) ? c : m.toUpperCase()
  })
  return `${url.protocol}//${url.host}${path}`
}

/**
 * The URL a request was addressed to, normalised as {@link normalizeHtu}:
 * the configured public origin, else the request's scheme and host as
 * Fastify reads them (`X-Forwarded-Proto`/`-Host` only with `trustProxy`),
 * and the path without query or fragment.
 */
export function requestHtu (request: FastifyRequest, publicOrigin: string | null): string | null {
  const raw = request.url
  const end = raw.search(/[?#]/)
  const path = end < 0 ? raw : raw.slice(0, end)
  const origin = publicOrigin ?? `${request.protocol}://${request.host}`
  return normalizeHtu(`${origin}${path.startsWith('/') ? path : `/${path}`}`)
}
