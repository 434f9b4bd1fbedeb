import t from 'tap'
import { memoryStore } from '../../lib/stores/memory.js'
import { redisClient, requireRedis, uniquePrefix } from '../redis/env.js'
import { dpopApp, holder, login, ORIGIN, proof } from './helpers.js'

t.test('a proof replayed on another instance is refused: the jti cache is shared through Redis', async (t) => {
  if (!await requireRedis(t)) return
  const prefix = uniquePrefix('dpop')
  const store = memoryStore()
  // Two instances behind one load balancer: one store, one Redis, nothing else shared.
  const one = await dpopApp({}, { redis: { client: redisClient(t), prefix } }, store)
  const two = await dpopApp({}, { redis: { client: redisClient(t), prefix } }, store)
  t.teardown(async () => { await one.app.close(); await two.app.close() })
  two.clock.now = one.clock.now
  const h = await holder()
  const { body } = await login(one, h)
  const p = await proof(h, one.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: body.accessToken })
  const headers = { authorization: `DPoP ${body.accessToken}`, dpop: p }
  t.equal((await one.app.inject({ method: 'GET', url: '/me', headers })).statusCode, 200, 'first use, instance one')
  const replay = await two.app.inject({ method: 'GET', url: '/me', headers })
  t.equal(replay.statusCode, 401, 'the same proof on instance two')
  t.equal(replay.json().code, 'GK_DPOP_PROOF_INVALID')
  t.equal(two.events.filter((e) => e.type === 'dpop.proof_refused').at(-1)?.cause, 'replay')
  const fresh = await proof(h, one.clock, { htm: 'GET', htu: `${ORIGIN}/me`, accessToken: body.accessToken })
  t.equal((await two.app.inject({ method: 'GET', url: '/me', headers: { ...headers, dpop: fresh } })).statusCode, 200, 'a fresh proof passes on instance two')
})
