// Variant "fastify-jwt-cache": @fastify/jwt as in "fastify-jwt", with fast-jwt's verification cache on (its fair configuration).
import { startFastifyJwt } from '../lib/fastify-jwt.js'

await startFastifyJwt(true)
