import t, { type Test } from 'tap'
import { isValidScope, parseDuration, parseName, parseOwnerId, parseRateLimit, parseScopes } from '../../lib/api-key/input.js'

const refused = (t: Test, fn: () => unknown, what: string): void => {
  t.throws(fn, { code: 'GK_INVALID_REQUEST', statusCode: 400 }, what)
}

t.test('scopes follow the permission syntax', async (t) => {
  const rows: Array<[unknown, boolean]> = [
    ['posts:read', true], ['posts:*', true], ['*', true], ['a.b-c_d:e', true], ['posts:update:own', true],
    ['', false], [':read', false], ['posts:', false], ['posts::read', false], ['posts read', false],
    ['posts/read', false], ['p'.repeat(129), false], ['é', false], [7, false]
  ]
  for (const [scope, ok] of rows) t.equal(isValidScope(scope), ok, JSON.stringify(scope))
})

t.test('scope lists are deduplicated and bounded', async (t) => {
  t.same(parseScopes(undefined), [])
  t.same(parseScopes(['a:b', 'a:b', 'c']), ['a:b', 'c'])
  refused(t, () => parseScopes('a:b'), 'a string')
  refused(t, () => parseScopes(['ok', 'not ok']), 'a bad scope')
  refused(t, () => parseScopes(Array.from({ length: 65 }, (_, i) => `s${i}`)), 'too many')
})

t.test('names are trimmed, bounded and free of control characters', async (t) => {
  t.equal(parseName('  ci deploy '), 'ci deploy')
  refused(t, () => parseName(''), 'empty')
  refused(t, () => parseName('   '), 'blank')
  refused(t, () => parseName('x'.repeat(101)), 'too long')
  refused(t, () => parseName('a\nb'), 'a newline')
  refused(t, () => parseName('a\u007fb'), 'DEL')
  refused(t, () => parseName(5), 'a number')
})

t.test('owner ids are non-empty strings', async (t) => {
  t.equal(parseOwnerId('u1'), 'u1')
  refused(t, () => parseOwnerId(''), 'empty')
  refused(t, () => parseOwnerId(1), 'a number')
  refused(t, () => parseOwnerId('x'.repeat(257)), 'too long')
})

t.test('durations are parsed and bounded', async (t) => {
  t.equal(parseDuration('90d', 'expiresIn', 60_000, Infinity), 90 * 86_400_000)
  t.equal(parseDuration(120_000, 'expiresIn', 60_000, Infinity), 120_000)
  t.equal(parseDuration(undefined, 'expiresIn', 0, 1), null)
  t.equal(parseDuration(null, 'expiresIn', 0, 1), null)
  refused(t, () => parseDuration('soon', 'expiresIn', 0, Infinity), 'not a duration')
  refused(t, () => parseDuration('1s', 'expiresIn', 60_000, Infinity), 'too short')
  refused(t, () => parseDuration(-5, 'expiresIn', 0, Infinity), 'negative')
})

t.test('rate limits are { max, timeWindow }', async (t) => {
  t.same(parseRateLimit({ max: 100, timeWindow: '1m' }), { max: 100, timeWindow: 60_000 })
  t.equal(parseRateLimit(undefined), null)
  t.equal(parseRateLimit(null), null)
  refused(t, () => parseRateLimit([]), 'an array')
  refused(t, () => parseRateLimit({ max: 0, timeWindow: '1m' }), 'max 0')
  refused(t, () => parseRateLimit({ max: 1.5, timeWindow: '1m' }), 'fractional max')
  refused(t, () => parseRateLimit({ max: 1 }), 'no window')
  refused(t, () => parseRateLimit({ max: 1, timeWindow: '2d' }), 'window too long')
  refused(t, () => parseRateLimit({ max: 1, timeWindow: '1m', burst: 3 }), 'an unknown field')
})
