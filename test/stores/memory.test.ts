import { memoryStore } from '../../lib/stores/memory.js'
import { storeConformance } from './conformance.js'

storeConformance('memory', async () => memoryStore())
