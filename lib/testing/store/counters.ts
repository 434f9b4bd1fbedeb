import type { CounterStore } from '../../protection/counters.js'
import type { Check } from './check.js'

/** A counter store and the clock it reads: the suite moves `clock.now` and the store must see it (e.g. a `now: () => clock.now` option). */
export interface Clocked { store: CounterStore, clock: { now: number } }

/**
 * The counter semantics rate limits and brute-force protection rely on, as
 * subtests of `t`, for any {@link CounterStore}; the memory counter store is
 * the reference. `make` returns a fresh, empty store per subtest.
 */
export function counterStoreConformance (t: Check, name: string, make: (t: Check) => Clocked): void {
  t.test(`${name}: a counter counts within its fixed window and starts again after it`, async (t) => {
    const { store, clock } = make(t)
    t.same(await store.increment('k', 1000), { value: 1, expiresAt: clock.now + 1000 })
    const start = clock.now
    clock.now += 999
    t.same(await store.increment('k', 1000), { value: 2, expiresAt: start + 1000 }, 'a fixed window keeps its expiry')
    clock.now += 1
    t.same(await store.increment('k', 1000), { value: 1, expiresAt: clock.now + 1000 }, 'expired at exactly its expiry')
  })

  t.test(`${name}: a sliding counter pushes its expiry on every increment`, async (t) => {
    const { store, clock } = make(t)
    await store.increment('s', 1000, true)
    clock.now += 900
    t.same(await store.increment('s', 1000, true), { value: 2, expiresAt: clock.now + 1000 })
    clock.now += 900
    t.equal((await store.get('s'))?.value, 2, 'still there 1.8 s after the first increment')
  })

  t.test(`${name}: get, set, delete, and a window is not a counter`, async (t) => {
    const { store, clock } = make(t)
    t.equal(await store.get('x'), null)
    await store.set('x', 7, 500)
    t.same(await store.get('x'), { value: 7, expiresAt: clock.now + 500 })
    clock.now += 500
    t.equal(await store.get('x'), null, 'expired')
    await store.set('x', 1, 500)
    await store.delete('x')
    t.equal(await store.get('x'), null, 'deleted')
    await store.hit('w', 1000, 5)
    t.equal(await store.get('w'), null, 'a window is not a counter')
    await store.set('x', 1, 500)
    t.same(await store.hits('x', 1000), { count: 0, oldest: null }, 'nor a counter a window')
    t.same(await store.increment('w', 1000), { value: 1, expiresAt: clock.now + 1000 }, 'incrementing a window key replaces it')
    t.same(await store.hit('x', 1000, 5), { count: 1, oldest: clock.now }, 'hitting a counter key replaces it')
  })

  t.test(`${name}: a sliding window counts the hits of the last windowMs and keeps at most keep`, async (t) => {
    const { store, clock } = make(t)
    const start = clock.now
    t.same(await store.hit('w', 1000, 3), { count: 1, oldest: start })
    clock.now += 400
    t.same(await store.hit('w', 1000, 3), { count: 2, oldest: start })
    clock.now += 400
    t.same(await store.hit('w', 1000, 3), { count: 3, oldest: start })
    t.same(await store.hit('w', 1000, 3), { count: 3, oldest: start + 400 }, 'the oldest beyond keep is dropped')
    clock.now = start + 1400
    t.same(await store.hits('w', 1000), { count: 2, oldest: start + 800 }, 'hits older than the window no longer count')
    clock.now = start + 1800
    t.same(await store.hits('w', 1000), { count: 0, oldest: null }, 'all gone once the newest leaves the window')
  })

  t.test(`${name}: setIfAbsent sets a missing or expired key only; one concurrent caller wins`, async (t) => {
    const { store, clock } = make(t)
    t.equal(await store.setIfAbsent('l', 1, 100), true)
    t.equal(await store.setIfAbsent('l', 2, 100), false)
    t.equal((await store.get('l'))?.value, 1)
    clock.now += 100
    t.equal(await store.setIfAbsent('l', 3, 100), true, 'an expired key counts as absent')
    const wins = await Promise.all([1, 2, 3, 4].map(async (v) => await store.setIfAbsent('p', v, 100)))
    t.equal(wins.filter(Boolean).length, 1)
  })

  t.test(`${name}: take adds a hit only below its limit, atomically; release removes that hit`, async (t) => {
    const { store, clock } = make(t)
    const start = clock.now
    const a = await store.take('q', 1000, 2)
    t.match(a, { count: 1, oldest: start })
    t.type(a.id, 'string')
    clock.now += 100
    const b = await store.take('q', 1000, 2)
    t.match(b, { count: 2, oldest: start })
    const full = await store.take('q', 1000, 2)
    t.same(full, { count: 2, oldest: start, id: null }, 'a full window takes nothing')
    t.same(await store.hits('q', 1000), { count: 2, oldest: start }, 'a refused take adds no hit')
    await store.release('q', a.id ?? '')
    t.same(await store.hits('q', 1000), { count: 1, oldest: start + 100 }, 'the released hit is gone, the other stays')
    await store.release('q', a.id ?? '')
    await store.release('nothing-here', 'x')
    t.equal((await store.hits('q', 1000)).count, 1, 'releasing twice or releasing a missing key changes nothing')
    clock.now = start + 1100
    t.match(await store.take('q', 1000, 1), { count: 1, oldest: start + 1100 }, 'hits that left the window no longer count against the limit')
    const many = await Promise.all(Array.from({ length: 20 }, async () => await store.take('race', 1000, 5)))
    t.equal(many.filter((x) => x.id !== null).length, 5, 'of 20 concurrent takes, exactly limit succeed')
    await store.set('counter', 1, 1000)
    t.not((await store.take('counter', 1000, 3)).id, null, 'taking a counter key replaces it with a window')
  })
}
