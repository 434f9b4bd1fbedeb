// Variant "bare": the route with no authentication at all (the baseline).
import Fastify from 'fastify'
import { announce, BENCH_PATH, handler } from '../lib/server.js'

const app = Fastify({ logger: false })
app.get(BENCH_PATH, handler)
await announce(app, { path: BENCH_PATH, headers: {}, protected: false })
