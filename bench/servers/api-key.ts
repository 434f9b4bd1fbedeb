// Variant "api-key": the gatekeeper core with the apiKey plugin on a SQLite file; the measured key is warm in the cache.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { apiKey } from 'fastify-gatekeeper/api-key'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { announce, BENCH_PATH, handler } from '../lib/server.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-apikey-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: sqliteStore({ filename: path.join(dir, 'auth.db') }) })
await app.register(apiKey, { prefix: 'gk' })
app.get(BENCH_PATH, { config: { auth: 'apiKey' } }, handler)
await app.ready()
const owner = await app.gatekeeper.store.users.create({ username: 'bench-app-owner', passwordHash: null, roles: ['user'] })
const { key } = await app.gatekeeper.apiKeys!.create({ ownerId: owner.id, name: 'bench', scopes: ['posts:read'] })
await announce(app, { path: BENCH_PATH, headers: { 'x-api-key': key }, protected: true })
