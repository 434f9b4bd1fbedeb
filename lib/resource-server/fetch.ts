import type { FetchLike } from './options.js'

/** A provider's answer was larger than the configured bound. */
export class ResponseTooLarge extends Error {
  constructor (readonly limit: number) {
    super(`response larger than ${limit} bytes`)
    this.name = 'ResponseTooLarge'
  }
}

/**
 * Wraps `fetch` for requests to a provider: a timeout of its own (besides
 * any signal the caller passes), no redirects followed (a metadata or key
 * URL that redirects elsewhere is refused, not followed to a host nobody
 * configured), and a body read up to `maxBytes` only, so a hostile or broken
 * provider cannot make us buffer an unbounded answer.
 */
export function boundedFetch (inner: FetchLike, maxBytes: number, timeoutMs: number): FetchLike {
  return async (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = init.signal === undefined || init.signal === null ? timeout : AbortSignal.any([init.signal, timeout])
    let response: Response
    try {
      response = await inner(input, { ...init, signal, redirect: 'manual' })
    } catch (err) {
      // A pooled connection the provider closed (a restart) fails at once: a GET is tried once more on a new one.
      if ((init.method ?? 'GET') !== 'GET' || signal.aborted) throw err
      response = await inner(input, { ...init, signal, redirect: 'manual' })
    }
    const declared = Number(response.headers.get('content-length'))
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => {})
      throw new ResponseTooLarge(maxBytes)
    }
    const body = await readBounded(response, maxBytes)
    return new Response(response.status === 204 || response.status === 304 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
}

async function readBounded (response: Response, maxBytes: number): Promise<Uint8Array> {
  const reader = response.body?.getReader()
  if (reader === undefined) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new ResponseTooLarge(maxBytes)
    }
    chunks.push(value)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

/**
 * The freshness a `Cache-Control` header grants, in milliseconds (RFC 9111
 * §5.2.2.1 `max-age`; `no-store`/`no-cache` grant none), or `null` when it
 * says nothing.
 */
export function maxAgeOf (header: string | null): number | null {
  if (header === null) return null
  let age: number | null = null
  for (const part of header.split(',')) {
    const [name = '', value] = part.trim().split('=', 2)
    const directive = name.toLowerCase()
    if (directive === 'no-store' || directive === 'no-cache') return 0
    if (directive === 'max-age' && value !== undefined) {
      const n = Number(value.replace(/^"|"$/g, ''))
      if (Number.isInteger(n) && n >= 0) age = n * 1000
    }
  }
  return age
}
