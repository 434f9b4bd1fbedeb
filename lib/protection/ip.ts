import { isIPv4, isIPv6 } from 'node:net'

/**
 * The address a limit is counted against. IPv4 as is; an IPv4-mapped IPv6
 * address as its IPv4 form; other IPv6 addresses collapsed to their /64,
 * because one subscriber usually holds a whole /64 and could otherwise
 * rotate through 2^64 addresses to escape a per-address limit.
 * Anything else (a Unix socket, an empty value) is returned lower-cased.
 */
export function clientAddress (ip: string): string {
  if (isIPv4(ip)) return ip
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  // Zone ids (fe80::1%eth0) name an interface, not a host.
  const addr = bare.split('%')[0] as string
  if (!isIPv6(addr)) return ip.toLowerCase()
  const groups = expand(addr.toLowerCase())
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] as number
    const lo = groups[7] as number
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (with an embedded IPv4 tail turned into two groups). */
function expand (addr: string): number[] {
  let text = addr
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16))
}
