// Variant "fastify-jwt": @fastify/jwt with its documented `request.jwtVerify()` onRequest hook (see bench/lib/fastify-jwt.ts).
import { startFastifyJwt } from '../lib/fastify-jwt.js'

await startFastifyJwt(false)
