// Variant "versioned": the same route as "unversioned", in a deprecated v1 (Deprecation, Sunset and Link headers).
import Fastify from 'fastify'
import { gatekeeper, versioning } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, handler } from '../lib/server.js'

const PATH = '/api/v1/bench'
const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(versioning, {
  prefix: '/api',
  versions: {
    v1: { deprecated: '2026-01-01', sunset: '2099-01-01', successor: 'v2' },
    v2: {}
  }
})
app.get(PATH, { config: { auth: false } }, handler)
await announce(app, { path: PATH, headers: {}, protected: false })
