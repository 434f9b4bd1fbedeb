import { isIP } from 'node:net'
import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'

/** Options of the `passkeys` plugin. */
export interface PasskeysOptions {
  /**
   * The WebAuthn relying-party ID: the registrable domain passkeys are bound
   * to (`'example.com'`), a host name without scheme or port. Every origin
   * must be this host or a subdomain of it.
   */
  rpID: string
  /** The name authenticators show beside the passkey (default: `rpID`). */
  rpName?: string
  /**
   * The origins of your frontend whose ceremonies are accepted
   * (`['https://app.example.com']`): `https`, `http` only for localhost. An
   * assertion made on any other origin is refused.
   */
  origins: string[]
  /** How long a ceremony's challenge can be used (default `'5m'`, from `'30s'` to `'10m'`). */
  challengeTtl?: Duration
  /**
   * How recent the login must be to remove a passkey (default `'10m'`, from
   * `'1m'` to `'1h'`): a stolen access token alone cannot take away the
   * owner's way back in.
   */
  recentLogin?: Duration
  /** Most passkeys per user (default 10, from 1 to 100). */
  maxPerUser?: number
  /** The routes' prefix (default `{ prefix: '/api/passkeys' }`); `false` registers no route. */
  routes?: { prefix?: string } | false
}

/** The options after validation. */
export interface NormalizedPasskeysOptions {
  readonly rpID: string
  readonly rpName: string
  readonly origins: readonly string[]
  readonly challengeMs: number
  readonly recentLoginMs: number
  readonly maxPerUser: number
  readonly prefix: string | null
}

const KEYS = ['rpID', 'rpName', 'origins', 'challengeTtl', 'recentLogin', 'maxPerUser', 'routes']
const PREFIX = /^(\/[A-Za-z0-9\-._~]+)+$/
const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
const MINUTE = 60_000

function object (value: unknown, name: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${name} must be an object`)
  for (const k of Object.keys(value)) if (!allowed.includes(k)) configError(`unknown option ${name}.${k} (allowed: ${allowed.join(', ')})`)
  return value as Record<string, unknown>
}

function rpID (value: unknown): string {
  if (typeof value !== 'string' || value === '') configError("passkeys needs rpID: your site's domain, such as 'example.com' (no scheme, no port)")
  // WebAuthn §5.1.3: an RP ID is a valid domain string; browsers refuse IP addresses.
  if (!HOST.test(value) || isIP(value) !== 0) {
    configError(`passkeys rpID must be a lower-case host name such as 'example.com', without scheme, port or path (got ${JSON.stringify(value)})`)
  }
  return value
}

function origin (value: unknown, id: string): string {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    return configError(`passkeys origins must be absolute origins such as 'https://app.${id}' (got ${JSON.stringify(value)})`)
  }
  if (typeof value !== 'string' || url.username !== '' || url.password !== '' || url.pathname !== '/' || value.includes('?') || value.includes('#') || value.endsWith('/')) {
    configError(`passkeys origins must be bare origins (scheme, host and port, no path or trailing slash), such as 'https://app.${id}' (got ${JSON.stringify(value)})`)
  }
  // Secure Contexts §3.1: localhost and its subdomains are trustworthy over http; browsers offer WebAuthn to nothing else without TLS.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.endsWith('.localhost')))) {
    configError(`passkeys origin ${value} must use https (http only for localhost): browsers offer WebAuthn to secure origins only`)
  }
  // WebAuthn §7.1 step 9 / §13.4.9: the RP ID must be the origin's host or a registrable suffix of it.
  if (url.hostname !== id && !url.hostname.endsWith(`.${id}`)) {
    configError(`passkeys origin ${value} is not on rpID ${id}: its host must be ${id} or a subdomain of it`)
  }
  return url.origin
}

/** Validates the options once, at registration; every problem is a GK_CONFIG saying what to change. */
export function normalizePasskeysOptions (opts: PasskeysOptions): NormalizedPasskeysOptions {
  const o = object(opts, 'passkeys options', KEYS)
  const id = rpID(o.rpID)
  if (o.rpName !== undefined && (typeof o.rpName !== 'string' || o.rpName.length === 0 || o.rpName.length > 64)) {
    configError('passkeys rpName must be a string of 1 to 64 characters')
  }
  if (!Array.isArray(o.origins) || o.origins.length === 0) {
    configError(`passkeys needs origins: the origins of your frontend, such as ['https://${id}']`)
  }
  const origins = [...new Set((o.origins as unknown[]).map((v) => origin(v, id)))]
  const maxPerUser = o.maxPerUser ?? 10
  if (!Number.isInteger(maxPerUser) || (maxPerUser as number) < 1 || (maxPerUser as number) > 100) configError('passkeys maxPerUser must be an integer from 1 to 100')
  let prefix: string | null = '/api/passkeys'
  if (o.routes === false) prefix = null
  else if (o.routes !== undefined) {
    const r = object(o.routes, 'passkeys routes', ['prefix'])
    if (r.prefix !== undefined) {
      if (typeof r.prefix !== 'string' || !PREFIX.test(r.prefix)) configError("passkeys routes.prefix must be a path such as '/api/passkeys' (no trailing slash)")
      prefix = r.prefix
    }
  }
  return Object.freeze({
    rpID: id,
    rpName: (o.rpName as string | undefined) ?? id,
    origins: Object.freeze(origins),
    challengeMs: boundedMs(o.challengeTtl as Duration | undefined, 'passkeys challengeTtl', '5m', 30_000, 10 * MINUTE),
    recentLoginMs: boundedMs(o.recentLogin as Duration | undefined, 'passkeys recentLogin', '10m', MINUTE, 60 * MINUTE),
    maxPerUser: maxPerUser as number,
    prefix
  })
}
