import t from 'tap'
import { MemoryCounterStore, memoryCounters } from '../../lib/protection/counters.js'
import { counterStoreConformance } from 'fastify-gatekeeper/testing/store'

function clocked (maxKeys = 1000): { store: MemoryCounterStore, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  return { store: memoryCounters({ maxKeys, now: () => clock.now }), clock }
}

// The semantics every counter store shares (the Redis store runs the same contract).
counterStoreConformance(t, 'memory', () => clocked())
counterStoreConformance(t, 'memory, with priorities', () => {
  const clock = { now: 1_000_000 }
  return { store: memoryCounters({ maxKeys: 1000, now: () => clock.now, priority: (k) => k.length % 4 }), clock }
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

t.test('when full, the key that counts least goes first, then the least recently used; a higher priority goes last', async (t) => {
  const clock = { now: 1_000_000 }
  const store = memoryCounters({ maxKeys: 4, now: () => clock.now, priority: (k) => k.startsWith('lock:') ? 2 : k.startsWith('streak:') ? 1 : 0 })
  await store.set('lock:alice', 1, 60_000)
  for (let i = 0; i < 4; i++) await store.increment('streak:alice', 60_000)
  for (let i = 0; i < 3; i++) await store.hit('window:alice', 60_000, 10)
  await store.hit('window:junk0', 60_000, 10)
  for (let i = 1; i < 500; i++) {
    await store.hit(`window:junk${i}`, 60_000, 10)
    await store.increment(`streak:junk${i}`, 60_000)
  }
  t.equal(store.size, 4)
  t.not(await store.get('lock:alice'), null, 'the lock of the highest priority stays')
  t.equal((await store.get('streak:alice'))?.value, 4, 'a streak of 4 outlasts 499 streaks of 1')
  t.equal((await store.hits('window:alice', 60_000)).count, 0, 'windows go before any streak')
  const only = memoryCounters({ maxKeys: 2, now: () => clock.now, priority: () => 2 })
  await only.set('lock:a', 1, 60_000)
  await only.set('lock:b', 1, 60_000)
  await only.get('lock:a')
  await only.set('lock:c', 1, 60_000)
  t.equal(await only.get('lock:b'), null, 'among keys of one priority and count, the least recently used goes')
  t.not(await only.get('lock:a'), null)
})

t.test('RankedMap: rerank moves an entry, evict on empty answers undefined, ranks are clamped', async (t) => {
  const { RankedMap } = await import('../../lib/protection/ranked-map.js')
  const m = new RankedMap<{ n: number }>(3, (_k, v) => v.n)
  t.equal(m.evict(), undefined)
  const a = { n: 0 }
  m.set('a', a)
  m.set('b', { n: 9 })
  m.set('c', { n: -4 })
  a.n = 1
  m.rerank('a')
  m.rerank('missing')
  t.equal(m.evict(), 'c', 'a negative rank counts as 0')
  t.equal(m.evict(), 'a')
  t.equal(m.evict(), 'b', 'a rank past the last counts as the last')
  t.equal(m.size, 0)
})
