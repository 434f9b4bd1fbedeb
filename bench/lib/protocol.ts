/**
 * The one line a benchmark server prints on stdout once it listens:
 * `GK_BENCH_READY {"port":…,"path":"/bench",…}`. The driver reads it to
 * learn the ephemeral port and the credentials to send.
 */

/** What a server announces. */
export interface ReadyInfo {
  /** The loopback port it listens on (ephemeral). */
  port: number
  /** The measured route. */
  path: string
  /** Headers every measured request carries (the credential). */
  headers: Record<string, string>
  /** Whether the route must refuse a request without the credential (checked before measuring). */
  protected: boolean
  /** Extra fixtures some modes use (login body, refresh route, keys…). */
  extra?: Record<string, unknown>
}

/** The prefix of the ready line. */
export const READY_PREFIX = 'GK_BENCH_READY '

/** The ready line for `info`, newline included. */
export function formatReady (info: ReadyInfo): string {
  return `${READY_PREFIX}${JSON.stringify(info)}\n`
}

/** The announced info when `line` is a ready line, otherwise `null`. */
export function parseReady (line: string): ReadyInfo | null {
  if (!line.startsWith(READY_PREFIX)) return null
  let v: unknown
  try {
    v = JSON.parse(line.slice(READY_PREFIX.length))
  } catch {
    return null
  }
  const o = v as Partial<ReadyInfo> | null
  if (o === null || typeof o !== 'object' || !Number.isInteger(o.port) || (o.port as number) <= 0 || (o.port as number) > 65535 ||
    typeof o.path !== 'string' || !o.path.startsWith('/') || typeof o.headers !== 'object' || o.headers === null || typeof o.protected !== 'boolean') {
    return null
  }
  return o as ReadyInfo
}
