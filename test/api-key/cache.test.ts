import t from 'tap'
import { VerifiedKeyCache } from '../../lib/api-key/cache.js'

interface E { id: string, deadline: number }
const entry = (id: string, deadline = 1_000_000): E => ({ id, deadline })

t.test('a cache never holds more than max entries and drops the least recently used', async (t) => {
  const c = new VerifiedKeyCache<E>(3, 30_000)
  c.set('h1', entry('k1'))
  c.set('h2', entry('k2'))
  c.set('h3', entry('k3'))
  t.ok(c.get('h1', 0), 'h1 is used, so h2 is now the oldest')
  c.set('h4', entry('k4'))
  t.equal(c.size, 3)
  t.equal(c.get('h2', 0), undefined)
  t.ok(c.get('h1', 0))
  t.ok(c.get('h3', 0))
  t.ok(c.get('h4', 0))
  t.equal(c.max, 3)
})

t.test('an entry is served until its deadline, then dropped', async (t) => {
  const c = new VerifiedKeyCache<E>(10, 30_000)
  c.set('h', entry('k', 500))
  t.ok(c.get('h', 499))
  t.equal(c.get('h', 500), undefined)
  t.equal(c.size, 0)
})

t.test('the deadline is the ttl or the key expiry, whichever comes first', async (t) => {
  const c = new VerifiedKeyCache<E>(10, 30_000)
  t.equal(c.deadlineFrom(1000, null), 31_000)
  t.equal(c.deadlineFrom(1000, 5000), 5000)
  t.equal(c.deadlineFrom(1000, 90_000), 31_000)
})

t.test('evicting a key id drops all its entries and stops in-flight reads from caching', async (t) => {
  const c = new VerifiedKeyCache<E>(10, 30_000)
  c.set('a', entry('k1'))
  c.set('b', entry('k1'))
  c.set('c', entry('k2'))
  const before = c.generation
  t.equal(c.evictId('k1'), 2)
  t.equal(c.size, 1)
  c.set('a', entry('k1'), before)
  t.equal(c.get('a', 0), undefined, 'a read that started before the eviction is not cached')
  c.set('a', entry('k1'), c.generation)
  t.ok(c.get('a', 0))
  t.equal(c.evictWhere((e) => e.id === 'k2'), 1)
  c.clear()
  t.equal(c.size, 0)
})

t.test('max 0 caches nothing', async (t) => {
  const c = new VerifiedKeyCache<E>(0, 30_000)
  c.set('a', entry('k1'))
  t.equal(c.size, 0)
})
