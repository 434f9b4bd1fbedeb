import { memoryStore } from '../../lib/stores/memory.js'
import t from 'tap'
import { storeConformance } from 'fastify-gatekeeper/testing/store'

storeConformance(t, 'memory', async () => memoryStore())
