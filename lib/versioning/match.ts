/** Which version a route pattern or a request path belongs to. */

const VERSION_SEGMENT = /^v\d+$/

/** A path under `${prefix}/vN`: the version segment and the rest of the path. */
export interface VersionMatch {
  /** The version segment, such as `'v1'` (declared or not). */
  version: string
  /** What follows the version segment: `''` or `'/…'`. */
  rest: string
}

/**
 * The version segment of `path` when it is `${prefix}/vN` or starts with
 * `${prefix}/vN/`; `null` for any other path. `prefix` is normalised
 * (`''` or `/a/b`, no trailing slash). A query string is ignored.
 */
export function matchVersion (path: string, prefix: string): VersionMatch | null {
  const q = path.indexOf('?')
  const p = q === -1 ? path : path.slice(0, q)
  if (!p.startsWith(prefix) || p.charCodeAt(prefix.length) !== 47 /* '/' */) return null
  const start = prefix.length + 1
  const slash = p.indexOf('/', start)
  const version = slash === -1 ? p.slice(start) : p.slice(start, slash)
  if (!VERSION_SEGMENT.test(version)) return null
  return { version, rest: slash === -1 ? '' : p.slice(slash) }
}

/** Orders version names by their number: v2 before v10. */
export function byVersionNumber (a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1))
}
