import t from 'tap'
import { MemoryCounterStore, memoryCounters } from '../../lib/protection/counters.js'

function clocked (maxKeys = 1000): { store: MemoryCounterStore, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  return { store: memoryCounters({ maxKeys, now: () => clock.now }), clock }
}

t.test('a counter counts within its fixed window and starts again after it', async (t) => {
  const { store, clock } = clocked()
  t.same(await store.increment('k', 1000), { value: 1, expiresAt: 1_001_000 })
  clock.now += 999
  t.same(await store.increment('k', 1000), { value: 2, expiresAt: 1_001_000 }, 'a fixed window keeps its expiry')
  clock.now += 1
  t.same(await store.increment('k', 1000), { value: 1, expiresAt: 1_002_000 }, 'expired at exactly its expiry')
})

t.test('a sliding counter pushes its expiry on every increment', async (t) => {
  const { store, clock } = clocked()
  await store.increment('s', 1000, true)
  clock.now += 900
  t.same(await store.increment('s', 1000, true), { value: 2, expiresAt: clock.now + 1000 })
  clock.now += 900
  t.equal((await store.get('s'))?.value, 2, 'still there 1.8 s after the first increment')
})

t.test('get, set and delete', async (t) => {
  const { store, clock } = clocked()
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
  t.same(await store.hits('x', 1000), { count: 0, oldest: null }, 'nor a counter a window')
  t.same(await store.increment('w', 1000), { value: 1, expiresAt: clock.now + 1000 }, 'incrementing a window key replaces it')
})

t.test('a sliding window counts the hits of the last windowMs and keeps at most `keep`', async (t) => {
  const { store, clock } = clocked()
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

t.test('the store is bounded: expired keys are swept, then the least recently used dropped', async (t) => {
  const { store, clock } = clocked(3)
  await store.set('a', 1, 100)
  await store.set('b', 1, 10_000)
  await store.set('c', 1, 10_000)
  clock.now += 2000
  await store.set('d', 1, 10_000)
  t.equal(store.size, 3)
  t.equal(await store.get('a'), null, 'the expired key made room')
  t.not(await store.get('b'), null)
  await store.get('b') // b is now more recently used than c
  await store.set('e', 1, 10_000) // no sweep within a second: the least recently used goes
  t.equal(store.size, 3)
  t.equal(await store.get('c'), null, 'c was least recently used')
  t.not(await store.get('b'), null)
  t.not(await store.get('e'), null)
})

t.test('maxKeys must be a positive integer', async (t) => {
  t.throws(() => new MemoryCounterStore({ maxKeys: 0 }), TypeError)
  t.equal(new MemoryCounterStore().size, 0, 'defaults need no options')
})

t.test('setIfAbsent sets a missing or expired key only', async (t) => {
  const { store, clock } = clocked()
  t.equal(await store.setIfAbsent('l', 1, 100), true)
  t.equal(await store.setIfAbsent('l', 2, 100), false)
  t.equal((await store.get('l'))?.value, 1)
  clock.now += 100
  t.equal(await store.setIfAbsent('l', 3, 100), true, 'an expired key counts as absent')
  const wins = await Promise.all([1, 2, 3, 4].map(async (v) => await store.setIfAbsent('p', v, 100)))
  t.equal(wins.filter(Boolean).length, 1, 'one of several concurrent callers wins')
})
