import t from 'tap'
import * as zlib from 'node:zlib'
import {
  BASE62, CHECKSUM_LENGTH, RANDOM_LENGTH, checksumOf, containsKey, crc32, generateKey, isValidPrefix,
  isWellFormed, keyLength, randomBase62, visibleStart
} from '../../lib/api-key/format.js'

t.test('a new key is the prefix, an underscore, 30 base62 characters and a 6-character checksum', async (t) => {
  const key = generateKey('gk')
  t.equal(key.length, 2 + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH)
  t.equal(key.length, keyLength('gk'))
  t.ok(key.startsWith('gk_'))
  for (const ch of key.slice(3)) t.ok(BASE62.includes(ch), `${ch} is base62`)
  t.ok(isWellFormed(key, 'gk'))
  t.equal(key.slice(-CHECKSUM_LENGTH), checksumOf(crc32(key.slice(0, -CHECKSUM_LENGTH))))
})

t.test('keys do not repeat', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 10_000; i++) seen.add(generateKey('gk'))
  t.equal(seen.size, 10_000)
})

t.test('every base62 character is equally likely (no modulo bias)', async (t) => {
  const counts = new Map<string, number>()
  const text = randomBase62(62 * 3000)
  t.equal(text.length, 62 * 3000)
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  t.equal(counts.size, 62)
  // Plain byte % 62 would give the first 8 characters about 21 % more than the mean; ±10 % is > 5 standard deviations.
  for (const [ch, n] of counts) t.ok(n > 2700 && n < 3300, `${ch} appears ${n} times, expected about 3000`)
})

t.test('the CRC32 is the IEEE one zlib computes', async (t) => {
  t.equal(crc32('123456789'), 0xcbf43926)
  t.equal(crc32(''), 0)
  const zcrc = (zlib as { crc32?: (s: string) => number }).crc32
  if (typeof zcrc === 'function') {
    for (let i = 0; i < 200; i++) {
      const s = randomBase62(1 + (i % 50))
      t.equal(crc32(s), zcrc(s), `crc32 of ${s}`)
    }
  }
  t.equal(crc32('xx123456789yy', 2, 11), 0xcbf43926, 'a slice is checksummed in place')
})

t.test('a checksum is always six base62 digits', async (t) => {
  t.equal(checksumOf(0), '000000')
  t.equal(checksumOf(61), '00000z')
  t.equal(checksumOf(62), '000010')
  t.equal(checksumOf(0xffffffff), '4gfFC3')
})

t.test('every one-character substitution of a key is refused by its checksum', async (t) => {
  const alphabet = BASE62 + '_-.~ +/=é\u0000'
  let tried = 0
  for (let n = 0; n < 10; n++) {
    const key = generateKey('gk')
    for (let i = 0; i < key.length; i++) {
      for (const ch of alphabet) {
        if (ch === key[i]) continue
        const typo = key.slice(0, i) + ch + key.slice(i + 1)
        tried++
        if (isWellFormed(typo, 'gk')) t.fail(`${i}:${ch} accepted`)
      }
    }
  }
  t.ok(tried > 25_000, `${tried} substitutions refused`)
})

t.test('swapped neighbours, truncation and extension are refused', async (t) => {
  for (let n = 0; n < 20; n++) {
    const key = generateKey('gk')
    for (let i = 3; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)
      t.notOk(isWellFormed(swapped, 'gk'), 'adjacent transposition')
    }
    t.notOk(isWellFormed(key.slice(0, -1), 'gk'), 'truncated')
    t.notOk(isWellFormed(key + 'a', 'gk'), 'extended')
    t.notOk(isWellFormed(` ${key}`.trim() + ' ', 'gk'), 'trailing space')
  }
})

t.test('malformed input is refused without exceptions', async (t) => {
  const key = generateKey('gk')
  const rows: Array<[string, string]> = [
    ['', 'empty'],
    ['gk_', 'prefix only'],
    [key.replace('gk_', 'gh_'), 'another prefix'],
    [key.replace('gk_', 'gk-'), 'wrong separator'],
    [key.replace('gk_', 'GK_'), 'upper-case prefix'],
    ['x'.repeat(1_000_000), 'a megabyte'],
    [`gk_${'\u{1F600}'.repeat(18)}`, 'astral characters'],
    [`gk_${'a'.repeat(36)}`, 'right shape, wrong checksum']
  ]
  for (const [input, what] of rows) t.notOk(isWellFormed(input, 'gk'), what)
  t.notOk(isWellFormed(key, 'acme'), 'a key of another prefix')
  const acme = generateKey('acme')
  t.ok(isWellFormed(acme, 'acme'))
  t.notOk(isWellFormed(acme, 'gk'))
})

t.test('a checksum digit pattern above 2^32 is refused', async (t) => {
  const body = `gk_${randomBase62(RANDOM_LENGTH)}`
  t.notOk(isWellFormed(body + 'zzzzzz', 'gk'))
})

t.test('the visible start is the prefix and four characters', async (t) => {
  const key = generateKey('acme')
  t.equal(visibleStart(key, 'acme'), key.slice(0, 9))
  t.equal(visibleStart(key, 'acme').length, 'acme_'.length + 4)
})

t.test('prefixes are 2-8 lowercase letters or digits', async (t) => {
  const rows: Array<[unknown, boolean]> = [
    ['gk', true], ['acme', true], ['a1b2c3d4', true], ['g', false], ['abcdefghi', false],
    ['GK', false], ['g_k', false], ['gk-', false], ['', false], [42, false], [null, false], ['gé', false]
  ]
  for (const [prefix, ok] of rows) t.equal(isValidPrefix(prefix), ok, String(prefix))
})

t.test('a key inside a query string is found; look-alikes are not', async (t) => {
  const key = generateKey('gk')
  t.ok(containsKey(`/x?api_key=${key}`, 'gk'))
  t.ok(containsKey(`/x?a=gk_short&b=${key}&c=1`, 'gk'), 'after a false start')
  t.notOk(containsKey(`/x?a=${key.slice(0, -1)}`, 'gk'), 'a truncated key')
  t.notOk(containsKey('/x?a=gk_', 'gk'))
  t.notOk(containsKey(`/${key}?a=1`, 'gk', 3 + key.length), 'only from the offset on')
})
