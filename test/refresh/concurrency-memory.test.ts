import { memoryStore } from '../../lib/stores/memory.js'
import { refreshConcurrency } from './concurrency.js'

refreshConcurrency('memory store', async () => memoryStore())
