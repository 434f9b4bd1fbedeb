import t from 'tap'
import { BruteForce } from '../../lib/protection/brute-force.js'
import type { CounterStore } from '../../lib/protection/counters.js'
import { bruteForceGuard, retryAfterSeconds } from '../../lib/protection/guard.js'
import { parseBruteForce } from '../../lib/protection/options.js'
import { KeyLimits } from '../../lib/protection/rate-limit.js'
import { coreApp } from '../helpers.js'

const down = async (): Promise<never> => { throw new Error('counters down') }
const broken: CounterStore = { increment: down, get: down, set: down, setIfAbsent: down, delete: down, hit: down, hits: down, take: down, release: down }

t.test('when its counters fail, the guard refuses logins (503) but never turns a checked attempt into an error', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const errors: unknown[] = []
  const request = { ip: '192.0.2.1', log: { error: (o: unknown) => errors.push(o), info () {}, warn () {} } } as never
  const guard = bruteForceGuard(app.gatekeeper, new BruteForce(broken, parseBruteForce({})!, () => 0), null)
  const attempt = { username: 'alice', login: 'alice' }
  await t.rejects(async () => { await guard.before!(request, attempt) }, { statusCode: 503, code: 'GK_STORE_UNAVAILABLE' }, 'fail closed before the password check')
  await t.resolves(async () => { await guard.onFailure!(request, attempt, null) }, 'a failure that cannot be counted still gets its 401')
  await t.resolves(async () => { await guard.onSuccess!(request, { id: '1', username: 'alice' } as never) }, 'a right password is not refused for a counter')
  t.equal(errors.length, 3, 'each is logged')
})

t.test('Retry-After is whole seconds, at least one', async (t) => {
  t.equal(retryAfterSeconds(0), 1)
  t.equal(retryAfterSeconds(1), 1)
  t.equal(retryAfterSeconds(1000), 1)
  t.equal(retryAfterSeconds(1001), 2)
  t.equal(retryAfterSeconds(3_600_000), 3600)
})

t.test('a request without an API key has no per-key limit', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const limits = new KeyLimits(app.gatekeeper.store, () => 0, app.log)
  t.equal(await limits.of({ auth: null } as never), null)
  t.equal(await limits.of({ auth: { subject: 'u1' } } as never), null)
  t.equal(await limits.of({ auth: { subject: 'u1', keyId: 'missing' } } as never), null, 'an unknown key id has none')
})

t.test('an attempt a later guard refuses, or whose store read fails, gives its place back', async (t) => {
  const { loginApp, login, PASSWORD, WRONG } = await import('./helpers.js')
  const { app } = await loginApp({ bruteForce: { account: { max: 2 } } })
  t.teardown(() => app.close())
  const { errors } = await import('../../lib/core/errors.js')
  let refuseAll = true
  app.gatekeeper.jwt.addLoginGuard({ before () { if (refuseAll) throw new errors.GK_FORBIDDEN() } })
  for (let i = 0; i < 6; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 403, `refused by the second guard ${i + 1}`)
  refuseAll = false
  const findByLogin = app.gatekeeper.store.users.findByLogin
  app.gatekeeper.store.users.findByLogin = async () => { throw new errors.GK_STORE_UNAVAILABLE() }
  for (let i = 0; i < 4; i++) t.equal((await login(app, 'alice', PASSWORD)).statusCode, 503, 'the store is down')
  app.gatekeeper.store.users.findByLogin = findByLogin
  t.equal((await login(app, 'alice', WRONG)).statusCode, 401, 'the first failure on the credential')
  t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'the budget was intact')
})

t.test('a place that cannot be given back is logged, and expires on its own', async (t) => {
  const { memoryCounters } = await import('../../lib/protection/counters.js')
  const app = await coreApp()
  t.teardown(() => app.close())
  const counters = memoryCounters()
  counters.release = down
  const errors: unknown[] = []
  const request = { ip: '192.0.2.1', log: { error: (o: unknown) => errors.push(o), info () {}, warn () {} } } as never
  const guard = bruteForceGuard(app.gatekeeper, new BruteForce(counters, parseBruteForce({})!, Date.now), null)
  await guard.before!(request, { username: 'alice', login: 'alice' })
  await t.resolves(async () => { await guard.onError!(request, { username: 'alice', login: 'alice' }, new Error('store down')) })
  t.equal(errors.length, 1, 'logged')
})
