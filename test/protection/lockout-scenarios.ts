import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { errors } from '../../lib/core/errors.js'
import type { AuditEvent, GatekeeperOptions } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { PASSWORD, WRONG, login } from './helpers.js'

const SECOND = 1000

/** A store whose every user read fails with 503 while `down` is set, as a database outage or an exhausted pool does. */
export function failingStore (inner: GatekeeperStore = memoryStore()): { store: GatekeeperStore, outage: { down: boolean } } {
  const outage = { down: false }
  const users = inner.users
  const guard = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    if (outage.down) throw new errors.GK_STORE_UNAVAILABLE()
    return await fn(...a)
  }
  const store: GatekeeperStore = {
    ...inner,
    users: { ...users, findByLogin: guard(users.findByLogin.bind(users)), findById: guard(users.findById.bind(users)) }
  }
  return { store, outage }
}

/** What a scenario needs: an app with alice (password {@link PASSWORD}), its clock, and the audit events it recorded. */
export interface LockoutApp {
  app: FastifyInstance
  clock: { now: number }
  events: AuditEvent[]
}

/** The core (with `core` options and a settable clock), the jwt plugin over `store`, user alice, audit events kept. */
export async function lockoutApp (t: Test, store: GatekeeperStore, core: Partial<GatekeeperOptions> = {}): Promise<LockoutApp> {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const events: AuditEvent[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store, now: () => clock.now, audit: { log: false, onEvent: (e) => { events.push(e) } }, ...core })
  await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'https://issuer.test', audience: 'api.test', cookie: false })
  await app.ready()
  if (await store.users.findByLogin('alice') === null) await app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  return { app, clock, events }
}

/**
 * The lockout scenarios of docs/protection.md, for any counter backend
 * (`make` builds the app: memory counters, Redis counters, a Postgres store).
 */
export function lockoutScenarios (t: Test, name: string, make: (t: Test, store: GatekeeperStore, core: Partial<GatekeeperOptions>) => Promise<LockoutApp>): void {
  t.test(`${name}: a store outage during logins locks nobody out; the right password works at once after recovery`, async (t) => {
    const { store, outage } = failingStore()
    const { app, events } = await make(t, store, {})
    outage.down = true
    for (let i = 0; i < 12; i++) {
      const res = await login(app, 'alice', i % 2 === 0 ? PASSWORD : WRONG)
      t.equal(res.statusCode, 503, `attempt ${i + 1} during the outage: 503, never 429`)
      t.equal(res.json().code, 'GK_STORE_UNAVAILABLE')
    }
    outage.down = false
    const ok = await login(app, 'alice', PASSWORD)
    t.equal(ok.statusCode, 200, 'the right password works at once after recovery')
    t.same(events.filter((e) => e.type === 'login.locked'), [], 'no lockout was recorded')
    t.same(events.filter((e) => e.type === 'login.failure'), [], 'an attempt the store could not answer is no failure')
  })

  t.test(`${name}: failures on the credential around an outage still count (an outage neither adds nor forgets)`, async (t) => {
    const { store, outage } = failingStore()
    const { app } = await make(t, store, {})
    for (let i = 0; i < 4; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401, `failure ${i + 1}`)
    outage.down = true
    for (let i = 0; i < 6; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 503)
    outage.down = false
    t.equal((await login(app, 'alice', WRONG)).statusCode, 401, 'the fifth failure on the credential')
    const locked = await login(app, 'alice', PASSWORD)
    t.equal(locked.statusCode, 429, 'five failures on the credential lock, as documented')
    t.equal(locked.headers['retry-after'], '60')
  })

  t.test(`${name}: a client retrying through a lockout is let in at the announced time; each lockout is recorded once`, async (t) => {
    const { app, clock, events } = await make(t, memoryStore(), {})
    const schedule: number[] = []
    for (let round = 0; round < 2; round++) {
      // Round 2 starts at the announced end of round 1: its first wrong password is a 401, not a 429.
      for (let i = 0; i < 5; i++) t.equal((await login(app, 'alice', WRONG)).statusCode, 401, `round ${round + 1}, failure ${i + 1}`)
      const first = await login(app, 'alice', PASSWORD)
      t.equal(first.statusCode, 429)
      const announced = Number(first.headers['retry-after'])
      schedule.push(announced)
      const until = clock.now + announced * SECOND
      // Retrying every 7 s, with the right password and with wrong ones: no retry moves the announced time.
      for (let n = 0; clock.now + 7 * SECOND < until; n++) {
        clock.now += 7 * SECOND
        const res = await login(app, 'alice', n % 2 === 0 ? PASSWORD : WRONG)
        t.equal(res.statusCode, 429, `still locked ${Math.round((until - clock.now) / SECOND)} s before the announced time`)
        t.equal(Number(res.headers['retry-after']), Math.ceil((until - clock.now) / SECOND), 'Retry-After counts down to the announced time')
      }
      clock.now = until
    }
    t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'let in at the announced end of the second lockout')
    t.same(schedule, [60, 120], 'the documented schedule: 5 failures → 1 min, 5 more → 2 min')
    const locks = events.filter((e) => e.type === 'login.locked')
    t.same(locks.map((e) => [e.scope, e.lockedFor, e.lockout]), [['account', 60, 1], ['account', 120, 2]], 'each lockout recorded once, however often the client retried')
  })

  t.test(`${name}: parallel attempts past the limit do not extend the window they were refused by`, async (t) => {
    const { app, clock, events } = await make(t, memoryStore(), {})
    const all = await Promise.all(Array.from({ length: 15 }, async () => await login(app, 'alice', WRONG)))
    t.equal(all.filter((r) => r.statusCode === 401).length, 5, 'account.max attempts reach the password check')
    const refused = all.filter((r) => r.statusCode === 429)
    t.equal(refused.length, 10)
    t.equal(events.filter((e) => e.type === 'login.locked').length, 1, 'one lockout recorded')
    const res = await login(app, 'alice', PASSWORD)
    t.equal(res.headers['retry-after'], '60', 'the lockout of the documented schedule')
    for (const r of refused) t.ok(Number(r.headers['retry-after']) <= 60, 'no refused attempt announced more than the lockout')
    clock.now += 60 * SECOND
    t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'free once the lockout is over')
  })

  t.test(`${name}: an address refused for its failures is free when its oldest failure leaves the window, whatever it retried`, async (t) => {
    const { app, clock, events } = await make(t, memoryStore(), { bruteForce: { ip: { max: 3 } } })
    const t0 = clock.now
    for (let i = 0; i < 3; i++) {
      t.equal((await login(app, `user${i}`, WRONG)).statusCode, 401)
      clock.now += 60 * SECOND
    }
    // The third failure, 2 min after the first, refuses the address until the first leaves the 15-minute window.
    for (let i = 0; i < 12; i++) {
      const res = await login(app, 'alice', i % 2 === 0 ? PASSWORD : WRONG)
      t.equal(res.statusCode, 429, `retry ${i + 1}: refused`)
      t.equal(Number(res.headers['retry-after']), (t0 + 15 * 60 * SECOND - clock.now) / SECOND, `retry ${i + 1}: the announced time holds`)
      clock.now += 60 * SECOND
    }
    t.equal(clock.now, t0 + 15 * 60 * SECOND)
    t.equal((await login(app, 'alice', PASSWORD)).statusCode, 200, 'free when the oldest failure leaves the window')
    t.equal(events.filter((e) => e.type === 'login.locked' && e.scope === 'ip').length, 1, 'the address lockout recorded once')
  })
}
