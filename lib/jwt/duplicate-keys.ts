/**
 * Whether a JSON text (already accepted by `JSON.parse`) has an object with
 * the same member name twice. RFC 7515 §5.2 lets a parser keep the last one,
 * so `{"roles":["user"],"roles":["admin"]}` means different things to
 * different parsers; RFC 8725 §3.2 asks for one meaning, so such tokens are
 * refused. Names are compared after unescaping (`"a"` equals `"\u0061"`).
 */
export function hasDuplicateKeys (text: string): boolean {
  let i = 0
  const n = text.length

  function skipSpace (): void {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return
      i++
    }
  }

  function readString (): string {
    const start = i++
    while (i < n && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1
    i++
    // A JSON string literal parses to a string.
    return String(JSON.parse(text.slice(start, i)))
  }

  function value (): boolean {
    skipSpace()
    const c = text[i]
    if (c === '{') {
      i++
      const seen = new Set<string>()
      skipSpace()
      if (text[i] === '}') { i++; return false }
      for (;;) {
        skipSpace()
        const name = readString()
        if (seen.has(name)) return true
        seen.add(name)
        skipSpace()
        i++ // ':'
        if (value()) return true
        skipSpace()
        if (text[i++] !== ',') return false
      }
    }
    if (c === '[') {
      i++
      skipSpace()
      if (text[i] === ']') { i++; return false }
      for (;;) {
        if (value()) return true
        skipSpace()
        if (text[i++] !== ',') return false
      }
    }
    if (c === '"') {
      readString()
      return false
    }
    while (i < n && !',]} \t\n\r'.includes(text[i])) i++
    return false
  }

  return value()
}

/** Whether the header or the payload segment of a compact JWS has duplicate member names. */
export function tokenHasDuplicateKeys (token: string): boolean {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 0 || second < 0) return false
  const header = Buffer.from(token.slice(0, first), 'base64url').toString('utf8')
  const payload = Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')
  return hasDuplicateKeys(header) || hasDuplicateKeys(payload)
}
