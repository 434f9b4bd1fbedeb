import t from 'tap'
import { boundedMs, toMs } from '../../lib/core/duration.js'
import { normalizeOptions } from '../../lib/jwt/options.js'
import { AUDIENCE, ISSUER, SECRET } from '../jwt/helpers.js'

t.test('durations: short units, spelled-out units and milliseconds read as the same length', async (t) => {
  const table: Array<[string | number, number]> = [
    ['500ms', 500], ['30s', 30_000], ['15m', 900_000], ['12h', 43_200_000], ['30d', 2_592_000_000], ['2w', 1_209_600_000],
    ['1 minute', 60_000], ['15 minutes', 900_000], ['30 seconds', 30_000], ['1 second', 1000], ['30 sec', 30_000],
    ['2 hours', 7_200_000], ['1 hr', 3_600_000], ['7 days', 604_800_000], ['1 week', 604_800_000],
    ['250 milliseconds', 250], ['5 min', 300_000], ['10 Minutes', 600_000], [' 15m ', 900_000], [900, 900], [0, 0]
  ]
  for (const [input, ms] of table) t.equal(toMs(input, 'ttl'), ms, `${JSON.stringify(input)} is ${ms} ms`)
})

t.test('durations that could mean two things, or nothing, are refused with the accepted forms listed', async (t) => {
  const table: Array<[string, unknown, RegExp]> = [
    ['a string of digits without a unit', '900', /ttl must say its unit: '900' is ambiguous \(did you mean '900s' or '900ms'\?\)/],
    ['a month (M) read as minutes elsewhere', '1M', /ttl must be a duration such as '15m' \(got '1M'\): a whole number and a unit: '500ms', '30s', '15m'.*'1 minute'/],
    ['a year', '1y', /ttl must be a duration such as '15m' \(got '1y'\)/],
    ['a fraction', '1.5h', /got '1\.5h'/],
    ['a negative length', '-5m', /got '-5m'/],
    ['a word', 'soon', /got 'soon'.*or a number of milliseconds/],
    ['an object', {}, /ttl must be a duration: a whole number and a unit/],
    ['a fractional number', 1.5, /non-negative integer of milliseconds/]
  ]
  for (const [name, input, message] of table) t.throws(() => toMs(input as string, 'ttl'), { code: 'GK_CONFIG', message }, name)
})

t.test('a bare number out of bounds that would fit as seconds says a number is milliseconds', async (t) => {
  t.throws(() => boundedMs(900, 'accessTokenTtl', '15m', 1000, 3_600_000), {
    code: 'GK_CONFIG',
    message: /accessTokenTtl must be between 1s and 1h \(got 900 ms\); a number is milliseconds: did you mean '15m'\?/
  })
  t.throws(() => boundedMs(30, 'reuseGrace', '0s', 0, 10), { message: /between 0ms and 10ms \(got 30 ms\)$/ }, 'no guess when seconds would not fit either')
  t.throws(() => boundedMs('2h', 'accessTokenTtl', '15m', 1000, 3_600_000), { message: /between 1s and 1h \(got 2h\)$/ })
  t.equal(boundedMs(900_000, 'accessTokenTtl', '15m', 1000, 3_600_000), 900_000, 'milliseconds in bounds are taken as they are')
})

t.test('jwt accessTokenTtl: 900 is refused with the hint, "15 minutes" is accepted', async (t) => {
  const base = { issuer: ISSUER, audience: AUDIENCE, secret: SECRET }
  t.throws(() => normalizeOptions({ ...base, accessTokenTtl: 900 }), { code: 'GK_CONFIG', message: /accessTokenTtl must be between 1s and 1h \(got 900 ms\); a number is milliseconds: did you mean '15m'\?/ })
  t.equal(normalizeOptions({ ...base, accessTokenTtl: '15 minutes' }).ttlMs, 900_000)
})
