// Server "refresh" (not a table variant): jwt + refresh on a SQLite file, refresh token in the body, for rotations per second over HTTP.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import { gatekeeper, refresh } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET, USER } from '../lib/server.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-refresh-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: sqliteStore({ filename: path.join(dir, 'auth.db') }) })
await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE })
await app.register(refresh, { transport: 'body' })
app.get(BENCH_PATH, { config: { auth: 'jwt' } }, handler)
await app.ready()
const user = await app.gatekeeper.users!.create(USER)
const { accessToken } = await app.gatekeeper.tokens!.issue(user)
await announce(app, {
  path: BENCH_PATH,
  headers: { authorization: `Bearer ${accessToken}` },
  protected: true,
  extra: {
    login: { path: '/api/login', body: { username: USER.username, password: USER.password } },
    refresh: { path: '/api/token/refresh', store: 'sqlite' }
  }
})
