/** The `fastify-jwt` variants: @fastify/jwt with its documented `request.jwtVerify()` onRequest hook, fast-jwt's verification cache off or on. */
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { announce, AUDIENCE, BENCH_PATH, handler, ISSUER, JWT_SECRET, USER } from './server.js'

/** Starts the server and announces it. */
export async function startFastifyJwt (cache: boolean): Promise<void> {
  const app = Fastify({ logger: false })
  // Same checks as ours: pinned algorithm, issuer, audience, expiry.
  await app.register(fastifyJwt, {
    secret: JWT_SECRET,
    sign: { algorithm: 'HS256', iss: ISSUER, aud: AUDIENCE, expiresIn: '15m' },
    verify: { algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE, cache }
  })
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await request.jwtVerify()
    } catch (err) {
      return await reply.send(err)
    }
  })
  app.get(BENCH_PATH, handler)
  await app.ready()
  const token = app.jwt.sign({ sub: 'u1', roles: USER.roles })
  await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${token}` }, protected: true })
}
