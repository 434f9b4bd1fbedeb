import t from 'tap'
import { adminClient, redisClient, requireRedis, uniquePrefix } from '../redis/env.js'
import { lockoutApp, lockoutScenarios } from './lockout-scenarios.js'

// The same scenarios with the brute-force counters in Redis (shared by every instance).
if (await requireRedis(t)) {
  lockoutScenarios(t, 'redis counters', async (t, store, core) => {
    const prefix = uniquePrefix('lockout')
    adminClient(t, prefix)
    return await lockoutApp(t, store, { ...core, redis: { client: redisClient(t), prefix, failOpen: false } })
  })
}
