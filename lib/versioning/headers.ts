/**
 * Header values of deprecated and sunset versions:
 * RFC 9745 `Deprecation`, RFC 8594 `Sunset`, RFC 8288 `Link`.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function two (n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/**
 * The `Deprecation` field value: an RFC 9651 §3.3.7 Date, `@` and the
 * integer seconds since the epoch (RFC 9745 §2.1), e.g. `@1780272000`.
 */
export function deprecationValue (ms: number): string {
  return `@${Math.floor(ms / 1000)}`
}

/**
 * The `Sunset` field value: an HTTP-date in the IMF-fixdate form
 * (RFC 8594 §3, RFC 9110 §5.6.7), e.g. `Tue, 01 Jun 2027 00:00:00 GMT`.
 * Written out rather than taken from `toUTCString()`, whose format the
 * language only fixed in ES2018 and which has no fixed width for the year.
 */
export function sunsetValue (ms: number): string {
  const d = new Date(ms)
  const year = String(d.getUTCFullYear()).padStart(4, '0')
  return `${DAYS[d.getUTCDay()] as string}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()] as string} ${year} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT`
}

// RFC 3986 §3.3 pchar plus '/', '?' and '%' (existing escapes stay as they are).
const URI_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu

/**
 * Makes a request path safe inside `<…>` of a Link header: every character a
 * URI-Reference cannot hold (`<`, `>`, `"`, spaces, non-ASCII…) is
 * percent-encoded, so a crafted path cannot add link parameters or relations.
 */
export function encodeUriReference (path: string): string {
  return path.replace(URI_SAFE, (c) => {
    let out = ''
    for (const byte of Buffer.from(c, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
    return out
  })
}

/** One RFC 8288 link-value: `<uri>; rel="relation"`. `uri` must already be a safe URI-Reference. */
export function linkValue (uri: string, rel: string): string {
  return `<${uri}>; rel="${rel}"`
}
