import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { secureLogger } from '../../lib/core/logging.js'
import type { AuditEvent, GatekeeperOptions } from '../../lib/core/types.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { refresh, type RefreshOptions } from '../../lib/refresh/index.js'
import { apiKey, type ApiKeyOptions } from '../../lib/api-key/index.js'
import { rbac, type RbacOptions } from '../../lib/rbac/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

/** The HS256 secret of the apps of this process (random: a leak in the logs is findable). */
export const SECRET = randomBytes(36).toString('base64url')
export const ISSUER = 'https://issuer.security.test'
export const AUDIENCE = 'api.security.test'
/** The password of every account the suites create. */
export const PASSWORD = `Pw-${randomBytes(12).toString('base64url')}-staple`
export const ROLES: RbacOptions['roles'] = {
  admin: { inherits: ['user'], permissions: ['*'] },
  user: { permissions: ['notes:read', 'notes:update:own', 'apikeys:create'] }
}

/** Every secret this process handed out or sent: the audit sweep looks for each in the logs. */
export const secrets = new Set<string>([SECRET, PASSWORD])
/** Every log line of every app this process built. */
export const logLines: string[] = []
/** Every audit event and anomaly of every app this process built. */
export const auditEvents: unknown[] = []

/** Remembers a secret for the audit sweep; returns it. */
export function remember<T extends string | undefined> (value: T): T {
  if (typeof value === 'string' && value.length >= 8) secrets.add(value)
  return value
}

/** Logger options as the docs prescribe (`secureLogger()`), at trace level, into {@link logLines}. */
export function capturedLogger (): Record<string, unknown> {
  const stream = new Writable({
    write (chunk, _enc, cb) {
      logLines.push(...String(chunk).split('\n').filter(Boolean))
      cb()
    }
  })
  return { ...secureLogger(), level: 'trace', stream }
}

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

/** What {@link securityApp} builds. */
export interface SecurityAppOptions {
  core?: Partial<GatekeeperOptions>
  /** jwt options merged over the defaults; `false` leaves the plugin out. */
  jwt?: Partial<JwtOptions> | false
  /** refresh options; omitted or `false` leaves the plugin out. */
  refresh?: RefreshOptions | false
  /** apiKey options; omitted or `false` leaves the plugin out. */
  apiKey?: ApiKeyOptions | false
  /** rbac on by default with {@link ROLES}; `false` leaves it out. */
  rbac?: Partial<RbacOptions> | false
  store?: GatekeeperStore
  fastify?: Record<string, unknown>
  clock?: Clock
  /** Adds routes before the app is ready. */
  setup?: (app: FastifyInstance) => void | Promise<void>
}

/**
 * An app as a user would build it (secureLogger, every plugin asked for),
 * with its log lines and audit events captured for the audit sweep, a
 * settable clock, and `GET|POST /me` echoing the caller.
 */
export async function securityApp (o: SecurityAppOptions = {}): Promise<{ app: FastifyInstance, clock: Clock, store: GatekeeperStore }> {
  const clock = o.clock ?? { now: Date.UTC(2030, 0, 1) }
  const store = o.store ?? memoryStore()
  const app = Fastify({ logger: capturedLogger(), ...o.fastify })
  await app.register(gatekeeper, {
    store,
    now: () => clock.now,
    audit: { onEvent: (e: AuditEvent) => { auditEvents.push(e) } },
    ...o.core
  })
  app.gatekeeper.on('anomaly', (a) => auditEvents.push(a))
  if (o.jwt !== false) {
    const base: Partial<JwtOptions> = o.jwt?.keys === undefined ? { secret: SECRET } : {}
    await app.register(jwt, { ...base, issuer: ISSUER, audience: AUDIENCE, ...o.jwt } as JwtOptions)
  }
  if (o.refresh !== undefined && o.refresh !== false) await app.register(refresh, o.refresh)
  if (o.apiKey !== undefined && o.apiKey !== false) await app.register(apiKey, o.apiKey)
  if (o.rbac !== false) await app.register(rbac, { roles: ROLES, ...o.rbac })
  const me = async (req: { auth: unknown }): Promise<unknown> => req.auth
  app.get('/me', me)
  app.post('/me', me)
  await o.setup?.(app)
  await app.ready()
  return { app, clock, store }
}

/** Creates a user with {@link PASSWORD} through the store (one argon2 hash per process). */
let hashed: Promise<string> | null = null
export async function createUser (app: FastifyInstance, username: string, roles: string[] = ['user']): Promise<string> {
  hashed ??= app.gatekeeper.passwords!.hash(PASSWORD)
  return (await app.gatekeeper.store.users.create({ username, passwordHash: await hashed, roles })).id
}

/** Logs in through the route; the tokens it returns are remembered as secrets. */
export async function login (app: FastifyInstance, username: string, headers: Record<string, string> = {}): Promise<{ body: Record<string, any>, res: LightMyRequestResponse }> {
  const res = await app.inject({ method: 'POST', url: '/api/login', headers, payload: { username, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const body = res.json()
  remember(body.accessToken)
  remember(body.refreshToken)
  // The session-id cookie is the family id: not a secret (it lets nobody in), and audit events name it.
  for (const c of res.cookies as Array<{ name: string, value: string }>) if (c.name !== '__Secure-gk_session') remember(c.value)
  return { body, res }
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v) ?? '').toString('base64url')
/** base64url of raw text, for hand-made JSON. */
export const b64raw = (s: string | Buffer): string => Buffer.from(s).toString('base64url')

/** HMAC-SHA256 signature of `input` with `key`, base64url. */
export function hs256 (input: string, key: string | Buffer): string {
  return createHmac('sha256', key).update(input).digest('base64url')
}

/**
 * A JWS made by hand. `key`: a string/Buffer signs HS256, a KeyObject signs
 * with the header's alg, `null` leaves the signature empty.
 */
export function forge (header: unknown, payload: unknown, key: string | Buffer | KeyObject | null = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${signInput((header as { alg?: unknown } | null)?.alg, input, key)}`
}

/** Signs a signing input (`b64header.b64payload`) the way {@link forge} does. */
export function signInput (alg: unknown, input: string, key: string | Buffer | KeyObject | null): string {
  if (key === null) return ''
  if (typeof key === 'string' || Buffer.isBuffer(key)) return hs256(input, key)
  const sig = alg === 'EdDSA'
    ? sign(null, Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key)
  return sig.toString('base64url')
}

/** Valid claims at `clock`. */
export function claims (clock: Clock, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(clock.now / 1000)
  return { sub: 'u1', roles: ['user'], iss: ISSUER, aud: AUDIENCE, iat, exp: iat + 900, jti: 'j1', ...extra }
}

/** The header of our access tokens. */
export const HS_HEADER = Object.freeze({ alg: 'HS256', typ: 'at+jwt' })

/** A fresh key pair. */
export function keyPair (algorithm: 'EdDSA' | 'ES256' | 'RS256'): { privateKey: KeyObject, publicKey: KeyObject } {
  if (algorithm === 'EdDSA') return generateKeyPairSync('ed25519')
  if (algorithm === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
}

/** `Authorization: Bearer <token>`. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** Median of numbers. */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** The Set-Cookie headers of a response. */
export function setCookieHeaders (res: LightMyRequestResponse): string[] {
  const h = res.headers['set-cookie']
  return h === undefined ? [] : Array.isArray(h) ? h : [h]
}

/**
 * The last subtest of every security file: the log lines and audit events
 * captured from every app of the file contain none of the secrets the file
 * used (tokens, passwords, keys, signing secrets), whole or by their secret
 * part (a JWT's signature, a key's random body).
 */
export function auditSweep (t: Test): void {
  t.test('audit: no secret used by this file appears in any captured log line or audit event', async (t) => {
    // Bytes serialised as {"type":"Buffer","data":[…]} leak as much as text: decoded, they are searched too.
    const buffers = logLines.flatMap((l) => [...l.matchAll(/\{"type":"Buffer","data":\[([\d,]*)\]\}/g)].map((m) => Buffer.from((m[1] as string).split(',').filter(Boolean).map(Number)).toString('latin1')))
    const haystack = logLines.join('\n') + '\n' + buffers.join('\n') + '\n' + auditEvents.map((e) => JSON.stringify(e)).join('\n')
    t.ok(logLines.length > 0, `${logLines.length} log lines captured`)
    const needles = new Set<string>()
    for (const s of secrets) {
      needles.add(s)
      const parts = s.split('.')
      // A JWT's signature alone would let nobody in, but it must not be there either: it is the token's secret part.
      if (parts.length === 3 && (parts[2] as string).length >= 16) needles.add(parts[2] as string)
      // An API key's random body without its prefix.
      const m = /^[a-z0-9]{2,8}_([0-9A-Za-z]{36})$/.exec(s)
      if (m !== null) needles.add(m[1] as string)
    }
    const leaked = [...needles].filter((n) => haystack.includes(n))
    t.same(leaked.map((s) => `${s.slice(0, 6)}… (${s.length} chars)`), [], `none of ${needles.size} secrets is in ${logLines.length} log lines and ${auditEvents.length} events`)
  })
}

/** One attack: a request, the clause or playbook item it comes from, and the answer it must get. */
export interface Row {
  /** What is tried, as a sentence. */
  name: string
  /** The clause or attack: `RFC 8725 §3.1`, `jwt_tool -X a`, `PortSwigger JWT lab 4`, `ASVS 3.5.3`, `API2:2023`. */
  cite: string
  req: InjectOptions | (() => InjectOptions | Promise<InjectOptions>)
  status: number
  code?: string
  /** `null`: a challenge without `error=`; a string: `error="<it>"` must be in the challenge. */
  challenge?: string | null
  /** A known bug, named: the row runs as a tap todo until the library is fixed. */
  todo?: string
}

/** Codes whose answers must be byte-identical whatever the reason (DESIGN: "all failures of one kind have the same body"). */
const SAME_BODY_CODES = new Set(['GK_UNAUTHORIZED', 'GK_TOKEN_INVALID', 'GK_TOKEN_EXPIRED', 'GK_INVALID_CREDENTIALS', 'GK_INVALID_GRANT', 'GK_FORBIDDEN', 'GK_ACCOUNT_LOCKED'])

/**
 * Runs a table of attacks: each row its own assertion group, never a 5xx, and
 * the bodies of every row of one credential-failure code identical (no
 * response says why a credential failed; WSTG-IDNT-04, RFC 6750 §3.1).
 */
export async function runRows (t: Test, app: FastifyInstance, rows: Row[]): Promise<void> {
  const bodies = new Map<string, Set<string>>()
  for (const row of rows) {
    const label = `${row.name} [${row.cite}]`
    if (row.todo !== undefined) {
      // A known bug: the row states the expected answer and stays visible as a todo until it is fixed.
      await t.test(label, { todo: row.todo }, async (tt) => { await checkRow(tt, app, row, label, new Map()) })
      continue
    }
    await checkRow(t, app, row, label, bodies)
  }
  for (const [code, set] of bodies) {
    // GK_INVALID_REQUEST says what is malformed and GK_NOT_FOUND what is missing; credential failures say nothing.
    if (!SAME_BODY_CODES.has(code)) continue
    t.equal(set.size, 1, `every ${code} answer has the same body, whatever the reason`)
  }
}

async function checkRow (t: Test, app: FastifyInstance, row: Row, label: string, bodies: Map<string, Set<string>>): Promise<void> {
  const req = typeof row.req === 'function' ? await row.req() : row.req
  const res = await app.inject(req)
  t.ok(res.statusCode < 500, `${label}: never a 5xx`)
  t.equal(res.statusCode, row.status, `${label}: ${row.status}${row.code === undefined ? '' : ` ${row.code}`}`)
  if (row.code !== undefined && req.method !== 'HEAD') {
    let code: unknown
    try { code = res.json().code } catch { code = undefined }
    t.equal(code, row.code, `${label}: code`)
    let set = bodies.get(row.code)
    if (set === undefined) bodies.set(row.code, (set = new Set()))
    set.add(res.body)
  }
  if (row.challenge !== undefined) {
    const h = String(res.headers['www-authenticate'] ?? '')
    // The scheme is that of the credential presented: Bearer, ApiKey, or a custom strategy's.
    t.match(h, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ realm="[^"]+"/, `${label}: WWW-Authenticate challenge`)
    if (row.challenge === null) t.notMatch(h, /error=/, `${label}: no error= (RFC 6750 §3.1: no credential, no error code)`)
    else t.ok(h.includes(`error="${row.challenge}"`), `${label}: error="${row.challenge}" in ${h}`)
  }
}
