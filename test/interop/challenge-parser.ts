/**
 * A strict parser of `WWW-Authenticate` (RFC 9110 §11.6.1, §11.3):
 *
 *   WWW-Authenticate = #challenge
 *   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param       = token BWS "=" BWS ( token / quoted-string )
 *
 * Lists follow §5.6.1 (elements separated by OWS "," OWS, empty elements
 * tolerated as the recipient rule allows). Anything else throws: no
 * guessing, no lenient recovery. A parameter named twice in one challenge
 * is an error (§11.2: each parameter name MUST only occur once).
 */

/** One parsed challenge; parameter names are lower-cased (they are case-insensitive). */
export interface Challenge {
  scheme: string
  token68?: string
  params: Record<string, string>
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/

/** A value that is not a WWW-Authenticate field value. */
export class ChallengeSyntaxError extends Error {
  override name = 'ChallengeSyntaxError'
}

export function parseChallenges (value: string): Challenge[] {
  let i = 0
  const fail = (what: string): never => { throw new ChallengeSyntaxError(`${what} at ${i} in ${JSON.stringify(value)}`) }
  const ows = (): void => { while (value[i] === ' ' || value[i] === '\t') i++ }
  const token = (): string => {
    const start = i
    while (i < value.length && TCHAR.test(value[i] as string)) i++
    if (i === start) fail('a token expected')
    return value.slice(start, i)
  }
  const quoted = (): string => {
    if (value[i] !== '"') fail('a quoted-string expected')
    i++
    let out = ''
    for (;;) {
      const c = value[i]
      if (c === undefined) return fail('an unterminated quoted-string')
      if (c === '"') { i++; return out }
      if (c === '\\') {
        const next = value[i + 1]
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (next === undefined || !/[\t\x20-\x7e\x80-\xff]/.test(next)) fail('a bad quoted-pair')
        out += next
        i += 2
        continue
      }
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (!/[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]/.test(c)) fail('a character not allowed in a quoted-string')
      out += c
      i++
    }
  }
  /** Whether an auth-param (token BWS "=") starts at i, not a new challenge. */
  const paramAhead = (): boolean => {
    let j = i
    while (j < value.length && TCHAR.test(value[j] as string)) j++
    if (j === i) return false
    while (value[j] === ' ' || value[j] === '\t') j++
    return value[j] === '=' && value[j + 1] !== '=' && value[j + 1] !== undefined && !/^=*\s*(,|$)/.test(value.slice(j))
  }
  /** Skips the list separator: OWS "," OWS (and empty elements); false at the end. */
  const separator = (): boolean => {
    ows()
    if (i >= value.length) return false
    if (value[i] !== ',') fail('"," expected')
    while (value[i] === ',' || value[i] === ' ' || value[i] === '\t') i++
    return i < value.length
  }

  const challenges: Challenge[] = []
  ows()
  while (value[i] === ',') { i++; ows() }
  if (i >= value.length) fail('at least one challenge expected')
  for (;;) {
    const c: Challenge = { scheme: token(), params: {} }
    challenges.push(c)
    if (i >= value.length) break
    if (value[i] === ',') { if (!separator()) break; continue }
    // 1*SP, then token68 or auth-params.
    if (value[i] !== ' ') fail('SP after the auth-scheme expected')
    while (value[i] === ' ') i++
    const rest = value.slice(i)
    const t68 = TOKEN68.exec(rest)
    if (t68 !== null && !paramAhead() && /^\s*(,|$)/.test(rest.slice(t68[0].length))) {
      c.token68 = t68[0]
      i += t68[0].length
      if (!separator()) break
      continue
    }
    let more = true
    for (;;) {
      const name = token().toLowerCase()
      ows()
      if (value[i] !== '=') fail('"=" expected')
      i++
      ows()
      const v = value[i] === '"' ? quoted() : token()
      if (name in c.params) fail(`the parameter ${name} twice`)
      c.params[name] = v
      if (!separator()) { more = false; break }
      if (!paramAhead()) break
    }
    if (!more) break
  }
  return challenges
}
