import { configError } from '../core/errors.js'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
const PAGE = /^\/[A-Za-z0-9\-._~/]*$/

/**
 * Checks the public origin of the app's frontend: an absolute `https` URL with
 * no path, query or fragment (`http` only for a loopback host, in
 * development). Returns it without a trailing slash.
 */
export function parseOrigin (value: unknown): string {
  if (typeof value !== 'string') configError("accounts origin is required: the public origin of your frontend, such as 'https://app.example'")
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return configError(`accounts origin must be an absolute URL such as 'https://app.example' (got ${JSON.stringify(value)})`)
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.pathname !== '/' || value.includes('?') || value.includes('#')) {
    configError("accounts origin must be a bare origin (scheme, host and port, no path, query or fragment), such as 'https://app.example'")
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    configError('accounts origin must use https (http only for localhost): the links carry one-time tokens')
  }
  return url.origin
}

/** Checks a page path of the frontend (`/reset-password`). */
export function parsePage (value: unknown, name: string, dflt: string): string {
  const v = value ?? dflt
  if (typeof v !== 'string' || !PAGE.test(v)) configError(`accounts pages.${name} must be a path starting with '/' (got ${JSON.stringify(v)})`)
  return v
}

/**
 * The link a mail carries: the configured origin and page, never anything
 * from the request (a forged `Host` header cannot redirect it), with the
 * token in the fragment. Browsers never send a fragment to a server, in the
 * request or in a `Referer` header, so the token does not leak to the
 * page's server logs or to third parties the page links to.
 */
export function accountLink (origin: string, page: string, token: string | null): string {
  return token === null ? `${origin}${page}` : `${origin}${page}#token=${token}`
}
