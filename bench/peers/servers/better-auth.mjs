/**
 * The better-auth variants: better-auth mounted in Fastify as its own
 * documentation shows (a catch-all route handing a Fetch `Request` to
 * `auth.handler`), on a SQLite file of better-sqlite3, with the route
 * protected the way its docs protect one: `auth.api.getSession()` in a
 * preHandler for sessions (cookie, or bearer plugin), `auth.api.verifyApiKey()`
 * for the API-key plugin. The variant name (`better-auth-<credential>`) is
 * the first argument.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { apiKey } from '@better-auth/api-key'
import Database from 'better-sqlite3'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { fromNodeHeaders } from 'better-auth/node'
import { bearer } from 'better-auth/plugins'
import Fastify from 'fastify'

// Plain JavaScript run without a loader: tsx's hooks would tax every dynamic
// import() better-auth makes per request, which is not better-auth's cost.
// The fixtures are those of bench/lib/server.ts, repeated.
const BENCH_PATH = '/bench'
const RESPONSE = { hello: 'world' }
const USER = { username: 'bench', password: 'bench-password-not-secret' }
const READY_PREFIX = 'GK_BENCH_READY '
const SECRET = 'bench-only-better-auth-secret-0123456789abcdef'

/** @returns {Promise<typeof RESPONSE>} */
async function handler () { return RESPONSE }

/** Listens on an ephemeral loopback port, prints the ready line, exits when stdin closes (as bench/lib/server.ts). */
async function announce (app, info) {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const close = () => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.stdin.on('end', close)
  process.stdin.on('error', close)
  process.stdin.resume()
  process.on('SIGTERM', close)
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ port: app.server.address().port, ...info })}\n`)
}

/** @param {string[]} setCookie */
function cookieHeader (setCookie) {
  return setCookie.map((c) => c.split(';')[0]).join('; ')
}

/**
 * Starts the variant for `credential` and announces it.
 * @param {'session' | 'cookie-cache' | 'bearer' | 'api-key'} credential
 */
async function start (credential) {
  process.env.BETTER_AUTH_TELEMETRY = '0'
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-better-auth-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const auth = betterAuth({
    database: new Database(path.join(dir, 'auth.db')),
    secret: SECRET,
    baseURL: 'http://127.0.0.1',
    logger: { disabled: true },
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true },
    // The cookie cache keeps a signed copy of the session in a second cookie for maxAge seconds.
    session: { cookieCache: { enabled: credential === 'cookie-cache', maxAge: 300 } },
    plugins: [bearer(), apiKey({ rateLimit: { enabled: false } })]
  })
  const { runMigrations } = await getMigrations(auth.options)
  await runMigrations()

  const app = Fastify({ logger: false })
  app.route({
    method: ['GET', 'POST'],
    url: '/api/auth/*',
    async handler (request, reply) {
      const url = new URL(request.url, `http://${request.headers.host ?? '127.0.0.1'}`)
      const init = { method: request.method, headers: fromNodeHeaders(request.headers) }
      if (request.body !== undefined && request.body !== null) init.body = JSON.stringify(request.body)
      const response = await auth.handler(new Request(url, init))
      reply.status(response.status)
      response.headers.forEach((value, key) => { reply.header(key, value) })
      return await reply.send(response.body === null ? null : await response.text())
    }
  })
  if (credential === 'api-key') {
    app.get(BENCH_PATH, {
      preHandler: async (request, reply) => {
        const key = request.headers['x-api-key']
        const result = typeof key === 'string' ? await auth.api.verifyApiKey({ body: { key } }) : null
        if (result?.valid !== true) return await reply.code(401).send({ error: 'unauthorized' })
      }
    }, handler)
  } else {
    app.get(BENCH_PATH, {
      preHandler: async (request, reply) => {
        const session = await auth.api.getSession({ headers: fromNodeHeaders(request.headers) })
        if (session === null) return await reply.code(401).send({ error: 'unauthorized' })
      }
    }, handler)
  }
  await app.ready()

  const signUp = await auth.api.signUpEmail({
    body: { email: `${USER.username}@bench.test`, password: USER.password, name: USER.username },
    returnHeaders: true
  })
  let headers
  if (credential === 'api-key') {
    const created = await auth.api.createApiKey({ body: { userId: signUp.response.user.id, name: 'bench' } })
    headers = { 'x-api-key': created.key }
  } else if (credential === 'bearer') {
    const token = signUp.headers.get('set-auth-token')
    if (token === null) throw new Error('better-auth bearer plugin sent no set-auth-token header')
    headers = { authorization: `Bearer ${token}` }
  } else {
    headers = { cookie: cookieHeader(signUp.headers.getSetCookie()) }
  }
  await announce(app, { path: BENCH_PATH, headers, protected: true })
}

const credential = process.argv[2] ?? ''
if (!['session', 'cookie-cache', 'bearer', 'api-key'].includes(credential)) throw new Error(`unknown better-auth credential '${credential}'`)
await start(credential)
