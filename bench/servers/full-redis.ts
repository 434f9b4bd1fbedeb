// Variant "full-redis": the stack of "full" with rate limits, counters and revocations in Redis (REDIS_URL, default 127.0.0.1:6379).
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { startFull } from '../lib/full-stack.js'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 })
await redis.connect()
// A prefix of its own, so runs never share counters (every key expires with its window).
const prefix = `gk-bench-${randomBytes(4).toString('hex')}:`
process.on('SIGTERM', () => { redis.quit().catch(() => {}) })
await startFull({ client: redis, prefix, failOpen: true })
