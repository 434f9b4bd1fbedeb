import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import { createHasher, hashesEqual, pepperBytes } from '../../lib/api-key/hash.js'

const PEPPER = 'p'.repeat(32)

t.test('without a pepper a key is hashed with SHA-256, hex', async (t) => {
  const hash = createHasher()
  t.equal(hash('gk_abc'), createHash('sha256').update('gk_abc').digest('hex'))
})

t.test('with a pepper a key is hashed with HMAC-SHA256 keyed by the pepper', async (t) => {
  t.equal(createHasher(PEPPER)('gk_abc'), createHmac('sha256', PEPPER).update('gk_abc').digest('hex'))
  t.equal(createHasher(Buffer.from(PEPPER))('gk_abc'), createHasher(PEPPER)('gk_abc'), 'a Buffer pepper equals its UTF-8 string')
  t.not(createHasher(PEPPER)('gk_abc'), createHasher('q'.repeat(32))('gk_abc'), 'another pepper gives another hash')
  t.not(createHasher(PEPPER)('gk_abc'), createHasher()('gk_abc'))
})

t.test('a string pepper is taken as UTF-8 bytes', async (t) => {
  t.equal(pepperBytes('é').length, 2)
  t.same(pepperBytes(new Uint8Array([1, 2])), Buffer.from([1, 2]))
})

t.test('hashes are compared in constant time and never throw', async (t) => {
  const a = createHasher()('a')
  const b = createHasher()('b')
  const rows: Array<[string, string, boolean, string]> = [
    [a, a, true, 'the same hash'],
    [a, a.toUpperCase(), true, 'hex case does not matter'],
    [a, b, false, 'another hash'],
    [a, a.slice(0, -2), false, 'a shorter hash'],
    [a, `${a.slice(0, -2)}zz`, false, 'a non-hex tail'],
    [`${a.slice(0, -2)}zz`, `${a.slice(0, -2)}zz`, false, 'both non-hex'],
    ['', '', false, 'empty'],
    ['abc', 'abc', false, 'odd length']
  ]
  for (const [x, y, expected, what] of rows) t.equal(hashesEqual(x, y), expected, what)
  t.equal(hashesEqual(undefined as unknown as string, a), false, 'not a string')
})
