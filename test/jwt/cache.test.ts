import t from 'tap'
import { TokenCache, tokenKey } from '../../lib/jwt/cache.js'

t.test('the cache key is the SHA-256 of the token, never the token', async (t) => {
  const key = tokenKey('a.b.c')
  t.not(key, 'a.b.c')
  t.equal(Buffer.from(key, 'latin1').length, 32)
  t.equal(tokenKey('a.b.c'), key)
  t.not(tokenKey('a.b.d'), key)
})

t.test('an entry lives until its expiry and is dead from then on', async (t) => {
  const c = new TokenCache<string>(10)
  c.set('k', 'v', 1000)
  t.equal(c.get('k', 999), 'v')
  t.equal(c.get('k', 1000), 'expired')
  t.equal(c.get('k', 500), undefined, 'a dead entry is dropped')
  t.equal(c.size, 0)
})

t.test('a full cache evicts the least recently used entry', async (t) => {
  const c = new TokenCache<number>(3)
  c.set('a', 1, 1e9)
  c.set('b', 2, 1e9)
  c.set('c', 3, 1e9)
  t.equal(c.get('a', 0), 1, 'touching a makes b the oldest')
  c.set('d', 4, 1e9)
  t.equal(c.size, 3)
  t.equal(c.get('b', 0), undefined)
  t.equal(c.get('a', 0), 1)
  t.equal(c.get('d', 0), 4)
  c.set('d', 5, 1e9)
  t.equal(c.size, 3, 'setting an existing key does not grow the cache')
  t.equal(c.get('d', 0), 5)
})

t.test('deleteWhere and clear drop entries; a size of 0 caches nothing', async (t) => {
  const c = new TokenCache<{ sub: string }>(10)
  c.set('1', { sub: 'alice' }, 1e9)
  c.set('2', { sub: 'bob' }, 1e9)
  c.set('3', { sub: 'alice' }, 1e9)
  t.equal(c.deleteWhere((v) => v.sub === 'alice'), 2)
  t.equal(c.size, 1)
  c.clear()
  t.equal(c.size, 0)
  const none = new TokenCache<string>(0)
  none.set('k', 'v', 1e9)
  t.equal(none.get('k', 0), undefined)
})
