import { isIP } from 'node:net'
import Type, { type Static } from 'typebox'
import { boundedMs } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { checkOptions, dottedVoice, DurationOption } from '../core/options-schema.js'

/** Options of the `passkeys` plugin. */
export const PasskeysOptionsSchema = Type.Object({
  /**
   * The WebAuthn relying-party ID: the registrable domain passkeys are bound
   * to (`'example.com'`), a host name without scheme or port. Every origin
   * must be this host or a subdomain of it.
   */
  rpID: Type.String({ minLength: 1, message: "passkeys needs rpID: your site's domain, such as 'example.com' (no scheme, no port)" }),
  /** The name authenticators show beside the passkey (default: `rpID`). */
  rpName: Type.Optional(Type.String({ minLength: 1, maxLength: 64, errorMessage: 'must be a string of 1 to 64 characters' })),
  /**
   * The origins of your frontend whose ceremonies are accepted
   * (`['https://app.example.com']`): `https`, `http` only for localhost. An
   * assertion made on any other origin is refused.
   */
  origins: Type.Array(Type.String({ errorMessage: "must be absolute origins such as 'https://app.example.com'" }), { message: "passkeys needs origins: the origins of your frontend, such as ['https://example.com']" }),
  /** How long a ceremony's challenge can be used (default `'5m'`, from `'30s'` to `'10m'`). */
  challengeTtl: Type.Optional(DurationOption),
  /**
   * How recent the login must be to remove a passkey (default `'10m'`, from
   * `'1m'` to `'1h'`): a stolen access token alone cannot take away the
   * owner's way back in.
   */
  recentLogin: Type.Optional(DurationOption),
  /** Most passkeys per user (default 10, from 1 to 100). */
  maxPerUser: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, errorMessage: 'must be an integer from 1 to 100' })),
  /** The routes' prefix (default `{ prefix: '/api/passkeys' }`); `false` registers no route. */
  routes: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    prefix: Type.Optional(Type.String({ pattern: '^(/[A-Za-z0-9\\-._~]+)+$', errorMessage: "must be a path such as '/api/passkeys' (no trailing slash)" }))
  }, { additionalProperties: false })], { errorMessage: 'must be an object { prefix? } or false' }))
}, { additionalProperties: false, errorMessage: 'must be an object' })

/** Options of the `passkeys` plugin. */
export type PasskeysOptions = Static<typeof PasskeysOptionsSchema>

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

const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
const MINUTE = 60_000

function rpID (value: string): string {
  // WebAuthn §5.1.3: an RP ID is a valid domain string; browsers refuse IP addresses.
  if (!HOST.test(value) || isIP(value) !== 0) {
    configError(`passkeys rpID must be a lower-case host name such as 'example.com', without scheme, port or path (got ${JSON.stringify(value)})`)
  }
  return value
}

function origin (value: string, id: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return configError(`passkeys origins must be absolute origins such as 'https://app.${id}' (got ${JSON.stringify(value)})`)
  }
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || value.includes('?') || value.includes('#') || value.endsWith('/')) {
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
  const o = checkOptions(PasskeysOptionsSchema, opts, dottedVoice('passkeys options', 'passkeys '))
  const id = rpID(o.rpID)
  if (o.origins.length === 0) configError(`passkeys needs origins: the origins of your frontend, such as ['https://${id}']`)
  const origins = [...new Set(o.origins.map((v) => origin(v, id)))]
  return Object.freeze({
    rpID: id,
    rpName: o.rpName ?? id,
    origins: Object.freeze(origins),
    challengeMs: boundedMs(o.challengeTtl, 'passkeys challengeTtl', '5m', 30_000, 10 * MINUTE),
    recentLoginMs: boundedMs(o.recentLogin, 'passkeys recentLogin', '10m', MINUTE, 60 * MINUTE),
    maxPerUser: o.maxPerUser ?? 10,
    prefix: o.routes === false ? null : o.routes?.prefix ?? '/api/passkeys'
  })
}
