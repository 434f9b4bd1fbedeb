import { createHmac, randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { mfa, type MfaOptions } from '../../lib/mfa/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

export const SECRET = 'test-secret-test-secret-test-sec'
export const PASSWORD = 'correct horse battery staple'
export const KEY = randomBytes(32).toString('base64')

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

/** RFC 4648 base32 decoding, written here so the codes do not come from the library under test. */
function base32 (text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  const out: number[] = []
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at `ms`, by RFC 4226 §5.3 directly. */
export function totpCode (secret: string, ms: number, stepOffset = 0): string {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000) + stepOffset))
  const mac = createHmac('sha1', base32(secret)).update(counter).digest()
  const offset = (mac[mac.length - 1] as number) & 0x0f
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000
  return String(bin).padStart(6, '0')
}

/** The secret in an `otpauth://` URI. */
export function secretOf (uri: string): string {
  return new URL(uri).searchParams.get('secret') as string
}

/** An app: core with a settable clock, jwt, refresh (tokens in the body), mfa, and routes that echo the caller. */
export async function mfaApp (opts: { store?: GatekeeperStore, mfa?: Partial<MfaOptions>, core?: Partial<GatekeeperOptions>, logger?: unknown } = {}): Promise<{ app: FastifyInstance, clock: Clock }> {
  const clock = { now: Date.UTC(2030, 0, 1, 12, 0, 10) }
  const app = Fastify(opts.logger === undefined ? {} : { logger: opts.logger as never })
  await app.register(gatekeeper, { store: opts.store ?? memoryStore(), now: () => clock.now, ...opts.core })
  await app.register(jwt, { secret: SECRET, issuer: 'https://issuer.test', audience: 'api.test', cookie: false })
  await app.register(refresh, { transport: 'body' })
  await app.register(mfa, { encryptionKeys: [{ id: 'k1', key: KEY }], ...opts.mfa })
  app.get('/me', async (req) => req.auth)
  app.get('/admin', { config: { stepUp: { mfa: true } } }, async () => ({ ok: true }))
  app.get('/recent', { config: { stepUp: { maxAge: '5m' } } }, async () => ({ ok: true }))
  return { app, clock }
}

/** Creates a user and logs in with the password alone; returns its tokens. */
export async function signIn (app: FastifyInstance, username = 'alice'): Promise<{ id: string, token: string, refreshToken: string }> {
  const existing = await app.gatekeeper.store.users.findByLogin(username)
  const id = existing?.id ?? (await app.gatekeeper.users.create({ username, password: PASSWORD, roles: ['user'] })).id
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username, password: PASSWORD } })
  if (res.statusCode !== 200 || res.json().accessToken === undefined) throw new Error(`login failed: ${res.body}`)
  return { id, token: res.json().accessToken, refreshToken: res.json().refreshToken }
}

/** Signs a user in and sets up TOTP; returns the secret and the recovery codes. */
export async function enrol (app: FastifyInstance, clock: Clock, username = 'alice'): Promise<{ id: string, token: string, secret: string, recoveryCodes: string[] }> {
  const { id, token } = await signIn(app, username)
  const auth = { authorization: `Bearer ${token}` }
  const started = await app.inject({ method: 'POST', url: '/api/mfa/totp', headers: auth })
  if (started.statusCode !== 201) throw new Error(`enrolment failed: ${started.body}`)
  const secret = secretOf(started.json().uri)
  const confirmed = await app.inject({ method: 'POST', url: '/api/mfa/totp/confirm', headers: auth, payload: { code: totpCode(secret, clock.now) } })
  if (confirmed.statusCode !== 200) throw new Error(`confirmation failed: ${confirmed.body}`)
  // The confirming code's step is used up: move on to the next one.
  clock.now += 30_000
  return { id, token, secret, recoveryCodes: confirmed.json().recoveryCodes }
}

/** The first step of a login for a user with a factor: the challenge. */
export async function firstStep (app: FastifyInstance, username = 'alice'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username, password: PASSWORD } })
  if (res.statusCode !== 200 || res.json().status !== 'mfa_required') throw new Error(`expected mfa_required: ${res.body}`)
  return res.json().challenge
}

/** The claims of a JWT, unverified (the test reads what the server issued). */
export function claimsOf (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
}
