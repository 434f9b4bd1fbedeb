import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent, GatekeeperOptions } from '../../lib/core/types.js'
import { dpop, type DpopOptions } from '../../lib/dpop/index.js'
import { accessTokenHash } from '../../lib/dpop/proof.js'
import { jwt } from '../../lib/jwt/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

export const SECRET = 'test-secret-test-secret-test-sec'
export const PASSWORD = 'correct horse battery staple'
/** The origin clients address; the apps are told it as `publicOrigin`. */
export const ORIGIN = 'https://api.test'

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

/** A client's DPoP key pair and its public JWK and thumbprint. */
export interface Holder { privateKey: CryptoKey, publicKey: CryptoKey, jwk: JWK, jkt: string, alg: string }

/** A fresh key pair for proofs. */
export async function holder (alg: 'ES256' | 'EdDSA' | 'RS256' | 'PS256' = 'ES256', modulusLength = 2048): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength } : {}) })
  const jwk = await exportJWK(publicKey)
  return { privateKey, publicKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256'), alg }
}

/** What a proof says; every field may be overridden to craft a bad one. */
export interface ProofFields {
  htm: string
  htu: string
  accessToken?: string
  iat?: number
  jti?: string
  nonce?: string
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
}

/** A DPoP proof signed by `h` (RFC 9449 §4.2) at `clock`. */
export async function proof (h: Holder, clock: Clock, f: ProofFields): Promise<string> {
  const payload: Record<string, unknown> = {
    htm: f.htm,
    htu: f.htu,
    jti: f.jti ?? randomUUID(),
    iat: f.iat ?? Math.floor(clock.now / 1000),
    ...(f.accessToken === undefined ? {} : { ath: accessTokenHash(f.accessToken) }),
    ...(f.nonce === undefined ? {} : { nonce: f.nonce }),
    ...f.claims
  }
  return await new SignJWT(payload).setProtectedHeader({ alg: h.alg, typ: 'dpop+jwt', jwk: h.jwk, ...f.header }).sign(h.privateKey)
}

/** The real clock, for apps that real clients call. */
export const realClock = (): Clock => ({ get now () { return Date.now() } })

export interface DpopTestApp { app: FastifyInstance, clock: Clock, events: AuditEvent[], anomalies: unknown[] }

/**
 * An app with the core (settable clock, audit kept), dpop, jwt, refresh
 * (body transport), oauth2 (client credentials); `GET/POST /me` with the
 * default policy, `GET /strict` requiring DPoP, `GET /open` allowing it.
 */
export async function dpopApp (opts: DpopOptions = {}, core: Partial<GatekeeperOptions> = {}, store: GatekeeperStore = memoryStore(), origin: string | null = ORIGIN, fastifyOpts: Record<string, unknown> = {}): Promise<DpopTestApp> {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const events: AuditEvent[] = []
  const anomalies: unknown[] = []
  const app = Fastify({ forceCloseConnections: true, ...fastifyOpts })
  await app.register(gatekeeper, { store, now: () => clock.now, audit: { log: false, onEvent: (e) => { events.push(e) } }, ...core })
  await app.register(dpop, { ...(origin === null ? {} : { publicOrigin: origin }), ...opts })
  await app.register(jwt, { secret: SECRET, issuer: 'https://issuer.test', audience: 'api.test', cookie: false })
  await app.register(refresh, { transport: 'body' })
  await app.register(oauth2)
  app.gatekeeper.on('anomaly', (a) => { anomalies.push(a) })
  app.get('/me', async (req) => req.auth)
  app.post('/me', async (req) => req.auth)
  app.get('/strict', { config: { auth: { dpop: 'required' } } }, async (req) => req.auth)
  app.get('/open', { config: { auth: { dpop: 'allowed' } } }, async (req) => req.auth)
  return { app, clock, events, anomalies }
}

/** Creates `alice` and logs her in with a proof by `h` (or none); returns the login answer. */
export async function login (t: DpopTestApp, h: Holder | null, username = 'alice'): Promise<{ status: number, body: Record<string, any> }> {
  if (await t.app.gatekeeper.store.users.findByLogin(username) === null) await t.app.gatekeeper.users.create({ username, password: PASSWORD, roles: ['user'] })
  const headers: Record<string, string> = h === null ? {} : { dpop: await proof(h, t.clock, { htm: 'POST', htu: `${ORIGIN}/api/login` }) }
  const res = await t.app.inject({ method: 'POST', url: '/api/login', headers, payload: { username, password: PASSWORD } })
  return { status: res.statusCode, body: res.json() }
}

/** `GET url` with `Authorization: DPoP <token>` and a proof by `h`. */
export async function call (t: DpopTestApp, h: Holder, token: string, url = '/me', f: Partial<ProofFields> = {}): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  const p = await proof(h, t.clock, { htm: 'GET', htu: `${ORIGIN}${url}`, accessToken: token, ...f })
  return await t.app.inject({ method: 'GET', url, headers: { authorization: `DPoP ${token}`, dpop: p } })
}
