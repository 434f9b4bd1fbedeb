/**
 * `fastify-gatekeeper/redis`: the types of the core's `redis` option (pass
 * `redis: client` or `redis: { client, prefix, failOpen, stallTimeout }` to
 * the core plugin).
 */
export type { RedisClient, RedisOption, RedisOptions } from './options.js'
