import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

/** A 32-byte test secret. */
export const SECRET = 'test-secret-test-secret-test-sec'
export const ISSUER = 'https://issuer.test'
export const AUDIENCE = 'api.test'
export const PASSWORD = 'correct horse battery staple'

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

/** An app with the core (memory store, settable clock), the jwt plugin and `GET /me` echoing request.auth. */
export async function jwtApp (opts: Partial<JwtOptions> = {}, core: Partial<GatekeeperOptions> = {}, fastifyOpts: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, clock: Clock }> {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const app = Fastify(fastifyOpts)
  await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, ...core })
  const base: Partial<JwtOptions> = opts.keys === undefined ? { secret: SECRET } : {}
  await app.register(jwt, { ...base, issuer: ISSUER, audience: AUDIENCE, ...opts } as JwtOptions)
  app.get('/me', async (req) => req.auth)
  app.post('/me', async (req) => req.auth)
  app.delete('/me', async (req) => req.auth)
  return { app, clock }
}

/** Creates a user and logs in; returns the access token. */
export async function loginAs (app: FastifyInstance, username = 'alice', roles = ['user']): Promise<{ token: string, id: string }> {
  const user = await app.gatekeeper.users!.create({ username, password: PASSWORD, roles })
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
  return { token: res.json().accessToken, id: user.id }
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** Builds a JWS by hand, for attacks the library must refuse. */
export function forge (header: Record<string, unknown>, payload: unknown, key: string | KeyObject | null = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`
  if (key === null) return `${input}.`
  if (typeof key === 'string') return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
  const alg = header.alg
  const sig = alg === 'EdDSA'
    ? sign(null, Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key)
  return `${input}.${sig.toString('base64url')}`
}

/** Valid claims at `clock`, for forged tokens. */
export function claims (clock: Clock, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(clock.now / 1000)
  return { sub: 'u1', roles: ['user'], iss: ISSUER, aud: AUDIENCE, iat, exp: iat + 900, jti: 'j1', ...extra }
}

/** A fresh key pair for an algorithm. */
export function keyPair (algorithm: 'EdDSA' | 'ES256' | 'RS256', bits = 2048): { privateKey: KeyObject, publicKey: KeyObject } {
  if (algorithm === 'EdDSA') return generateKeyPairSync('ed25519')
  if (algorithm === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return generateKeyPairSync('rsa', { modulusLength: bits })
}

/** Median of numbers. */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
