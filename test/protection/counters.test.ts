import t from 'tap'
import { MemoryCounterStore, memoryCounters } from '../../lib/protection/counters.js'
import { contract } from './counter-contract.js'

function clocked (maxKeys = 1000): { store: MemoryCounterStore, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  return { store: memoryCounters({ maxKeys, now: () => clock.now }), clock }
}

// The semantics every counter store shares (the Redis store runs the same contract).
contract('memory', () => clocked())

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
