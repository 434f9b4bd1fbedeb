// Variant "unversioned": the gatekeeper core and a public /api/v1 route, without the versioning plugin.
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { announce, handler } from '../lib/server.js'

const PATH = '/api/v1/bench'
const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
// Public, so the pair measures versioning alone, with no credential check beside it.
app.get(PATH, { config: { auth: false } }, handler)
await announce(app, { path: PATH, headers: {}, protected: false })
