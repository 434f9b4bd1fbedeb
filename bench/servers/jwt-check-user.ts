// Variant "jwt-check-user": jwt (HS256) with checkUser on a SQLite file: every request asks the store about the user, cached per user for 5 s.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { jwt } from 'fastify-gatekeeper/jwt'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET, USER } from '../lib/server.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-checkuser-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: sqliteStore({ filename: path.join(dir, 'auth.db') }) })
await app.register(jwt, { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '60m', checkUser: { cacheTtl: '5s' } })
app.get(BENCH_PATH, { config: { auth: 'jwt' } }, handler)
await app.ready()
const user = await app.gatekeeper.users.create(USER)
const { accessToken } = await app.gatekeeper.tokens.issue(user)
await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${accessToken}` }, protected: true })
