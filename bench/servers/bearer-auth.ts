// Variant "bearer-auth": @fastify/bearer-auth, which compares the token against an in-memory set.
import bearerAuth from '@fastify/bearer-auth'
import Fastify from 'fastify'
import { announce, BENCH_PATH, handler } from '../lib/server.js'

const KEY = 'bench-bearer-key-0123456789abcdef0123456789'

const app = Fastify({ logger: false })
await app.register(bearerAuth, { keys: new Set([KEY]) })
app.get(BENCH_PATH, handler)
await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${KEY}` }, protected: true })
