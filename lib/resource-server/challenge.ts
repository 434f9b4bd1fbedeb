/**
 * Adds parameters to the `Bearer` challenge of a `WWW-Authenticate` value
 * (RFC 9110 §11.6.1; RFC 9728 §5.1 `resource_metadata`; RFC 6750 §3
 * `scope`), whatever other challenges and parameters it holds.
 */

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Splits at commas outside quoted strings. */
function elements (header: string): string[] {
  const out: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < header.length; i++) {
    const c = header[i]
    if (quoted) {
      current += c
      if (c === '\\' && i + 1 < header.length) current += header[++i]
      else if (c === '"') quoted = false
    } else if (c === '"') {
      quoted = true
      current += c
    } else if (c === ',') {
      out.push(current.trim())
      current = ''
    } else {
      current += c
    }
  }
  out.push(current.trim())
  return out.filter((e) => e.length > 0)
}

interface Challenge { scheme: string, params: string[] }

/** Parses a `WWW-Authenticate` value into challenges: an element `scheme [first-param]` starts one, `name=value` continues it. */
export function parseChallenges (header: string): Challenge[] {
  const out: Challenge[] = []
  for (const element of elements(header)) {
    const space = element.indexOf(' ')
    const head = space < 0 ? element : element.slice(0, space)
    const startsChallenge = TOKEN.test(head) && (space >= 0 || !element.includes('='))
    if (startsChallenge) {
      const rest = space < 0 ? '' : element.slice(space + 1).trim()
      out.push({ scheme: head, params: rest === '' ? [] : [rest] })
    } else {
      const last = out[out.length - 1]
      if (last === undefined) out.push({ scheme: element, params: [] })
      else last.params.push(element)
    }
  }
  return out
}

function quote (value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

function paramName (param: string): string {
  const eq = param.indexOf('=')
  return (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase()
}

/**
 * `header` with `params` added to its Bearer challenge (those it already
 * has are kept as they are); with `addMissing`, a Bearer challenge is
 * appended when there is none.
 */
export function withBearerParams (header: string, params: ReadonlyArray<readonly [string, string]>, addMissing: { realm: string } | null): string {
  const challenges = parseChallenges(header)
  let bearer = challenges.find((c) => c.scheme.toLowerCase() === 'bearer')
  if (bearer === undefined) {
    if (addMissing === null) return header
    bearer = { scheme: 'Bearer', params: [`realm=${quote(addMissing.realm)}`] }
    challenges.push(bearer)
  }
  const have = new Set(bearer.params.map(paramName))
  for (const [name, value] of params) if (!have.has(name)) bearer.params.push(`${name}=${quote(value)}`)
  return challenges.map((c) => c.params.length === 0 ? c.scheme : `${c.scheme} ${c.params.join(', ')}`).join(', ')
}

/** Whether the Bearer challenge of `header` says `error="insufficient_scope"`. */
export function isInsufficientScope (header: string): boolean {
  const bearer = parseChallenges(header).find((c) => c.scheme.toLowerCase() === 'bearer')
  return bearer?.params.some((p) => paramName(p) === 'error' && /^error\s*=\s*"?insufficient_scope"?$/i.test(p.trim())) ?? false
}
