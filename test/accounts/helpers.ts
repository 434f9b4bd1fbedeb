import Fastify, { type FastifyInstance } from 'fastify'
import { accounts, nodemailerSender, type AccountsOptions } from '../../lib/accounts/index.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { GatekeeperOptions } from '../../lib/core/types.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { SmtpInbox } from './smtp.js'

export const SECRET = 'test-secret-test-secret-test-sec'
export const PASSWORD = 'correct horse battery staple'
export const NEW_PASSWORD = 'a brand new passphrase'
export const ORIGIN = 'https://app.example'

/** A settable clock, in milliseconds. */
export interface Clock { now: number }

/** What {@link accountsApp} builds. */
export interface AccountsAppOptions {
  accounts?: Partial<AccountsOptions>
  jwt?: Partial<JwtOptions>
  core?: Partial<GatekeeperOptions>
  store?: GatekeeperStore
  /** Register the refresh plugin (body transport); default true. */
  refresh?: boolean
  /** Deliver through nodemailer to this inbox (default: a new inbox is started). */
  inbox?: SmtpInbox
}

/**
 * An app with the core, jwt (register route on), refresh and accounts,
 * sending through nodemailer to a real SMTP server on loopback.
 */
export async function accountsApp (o: AccountsAppOptions = {}): Promise<{ app: FastifyInstance, inbox: SmtpInbox, clock: Clock, store: GatekeeperStore }> {
  const clock = { now: Date.now() }
  let inbox = o.inbox
  if (inbox === undefined) {
    inbox = new SmtpInbox()
    await inbox.start()
  }
  const store = o.store ?? memoryStore()
  const app = Fastify()
  await app.register(gatekeeper, { store, now: () => clock.now, audit: { log: false }, ...o.core })
  await app.register(jwt, { secret: SECRET, issuer: 'https://issuer.test', audience: 'api.test', routes: { register: true }, ...o.jwt })
  if (o.refresh !== false) await app.register(refresh, { transport: 'body' })
  const send = await nodemailerSender({ transport: inbox.transport, from: 'Example <no-reply@app.example>', appName: 'Example' })
  await app.register(accounts, { send, origin: ORIGIN, ...o.accounts })
  app.get('/me', async (request) => request.auth)
  const owned = o.inbox === undefined ? inbox : null
  app.addHook('onClose', async () => { await owned?.stop() })
  await app.ready()
  return { app, inbox, clock, store }
}

/** Creates a user with {@link PASSWORD} through `users.create`. */
export async function createUser (app: FastifyInstance, username: string, email: string | null, verified = false): Promise<string> {
  return (await app.gatekeeper.users.create({ username, password: PASSWORD, roles: ['user'], email, emailVerified: verified })).id
}

/** Logs in; returns the response body (access and refresh token). */
export async function login (app: FastifyInstance, username: string, password = PASSWORD): Promise<{ status: number, body: Record<string, any> }> {
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username, password } })
  return { status: res.statusCode, body: res.json() }
}

/** POSTs JSON to a route. */
export async function post (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, headers: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers })
  return { status: res.statusCode, body: res.body === '' ? null : res.json(), headers: res.headers }
}
