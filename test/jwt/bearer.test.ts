import t from 'tap'
import { parseBearer } from '../../lib/jwt/bearer.js'

t.test('a Bearer header yields its token; other schemes and no header yield null', async (t) => {
  const rows: Array<[string | undefined, string | null]> = [
    [undefined, null],
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer   abc', 'abc'],
    ['Bearer a-b_c~d+e/f==', 'a-b_c~d+e/f=='],
    ['Basic dXNlcjpwYXNz', null],
    ['ApiKey gk_123', null],
    ['Bearerish abc', null],
    ['Bear abc', null],
    ['', null]
  ]
  for (const [input, expected] of rows) t.equal(parseBearer(input), expected, JSON.stringify(input))
})

t.test('a malformed Bearer header is GK_INVALID_REQUEST (RFC 6750 invalid_request)', async (t) => {
  const rows = [
    'Bearer',
    'Bearer ',
    'Bearer     ',
    'Bearer\tabc',
    'Bearer abc def',
    'Bearer abc,def',
    'Bearer "abc"',
    'Bearer abc=def',
    'Bearer abc= ',
    'Bearer ab\u00e9',
    'Bearer ' + 'a'.repeat(9000)
  ]
  for (const input of rows) {
    t.throws(() => parseBearer(input), { code: 'GK_INVALID_REQUEST', statusCode: 400 }, JSON.stringify(input.slice(0, 30)))
  }
  t.throws(() => parseBearer(['Bearer a', 'Bearer b']), { code: 'GK_INVALID_REQUEST' }, 'several headers')
})

t.test('a hostile header is scanned in linear time', async (t) => {
  const evil = 'Bearer ' + 'a'.repeat(8000) + '='.repeat(150) + '!'
  const start = process.hrtime.bigint()
  t.throws(() => parseBearer(evil), { code: 'GK_INVALID_REQUEST' })
  // Generous bound: a backtracking parser would take seconds here.
  t.ok(Number(process.hrtime.bigint() - start) / 1e6 < 200)
})

t.test('property: any b64token round-trips; any other input is null or GK_INVALID_REQUEST, never another error', async (t) => {
  const fc = (await import('fast-check')).default
  const tokenChar = fc.constantFrom(...'abcXYZ019-._~+/'.split(''))
  const b64token = fc.tuple(fc.array(tokenChar, { minLength: 1, maxLength: 200 }), fc.nat(3))
    .map(([chars, pad]) => chars.join('') + '='.repeat(pad))
  fc.assert(fc.property(b64token, (tok) => parseBearer(`Bearer ${tok}`) === tok))
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
    try {
      const out = parseBearer(s)
      return out === null || (s.toLowerCase().startsWith('bearer ') && s.endsWith(out))
    } catch (err) {
      return (err as { code?: string }).code === 'GK_INVALID_REQUEST'
    }
  }))
  t.pass('properties hold')
})
