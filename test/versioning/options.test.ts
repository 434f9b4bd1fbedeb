import t from 'tap'
import { normalizePrefix, parseDate, parseOptions } from '../../lib/versioning/options.js'

const JUNE_2026 = Date.UTC(2026, 5, 1)

t.test('a full configuration is normalised and frozen', async (t) => {
  const config = parseOptions({
    prefix: '/api/',
    versions: {
      v1: { deprecated: '2026-06-01', sunset: new Date('2027-06-01T00:00:00Z'), successor: 'v2', deprecationLink: 'https://example.com/docs/v1', auth: ['apiKey', 'jwt', 'jwt'] },
      v2: { auth: 'jwt' },
      v3: { auth: 'public' }
    }
  })
  t.equal(config.prefix, '/api')
  t.same(config.versions.get('v1'), {
    name: 'v1',
    deprecatedAt: JUNE_2026,
    sunsetAt: Date.UTC(2027, 5, 1),
    successor: 'v2',
    deprecationLink: 'https://example.com/docs/v1',
    auth: ['apiKey', 'jwt']
  })
  t.same(config.versions.get('v2')?.auth, ['jwt'])
  t.equal(config.versions.get('v3')?.auth, 'public')
  t.equal(config.versions.get('v2')?.deprecatedAt, null)
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.versions.get('v1')))
})

t.test('dates: ISO dates, ISO date-times with a zone, and Date objects; truncated to the second', async (t) => {
  t.equal(parseDate('2026-06-01', 'd'), JUNE_2026)
  t.equal(parseDate('2026-06-01T00:00:00Z', 'd'), JUNE_2026)
  t.equal(parseDate('2026-06-01T02:00:00+02:00', 'd'), JUNE_2026)
  t.equal(parseDate('2026-06-01T00:00:00.999Z', 'd'), JUNE_2026)
  t.equal(parseDate(' 2026-06-01T00:00Z ', 'd'), JUNE_2026)
  t.equal(parseDate(new Date(JUNE_2026 + 500), 'd'), JUNE_2026)
})

t.test('the prefix is a plain path', async (t) => {
  t.equal(normalizePrefix(undefined), '/api')
  t.equal(normalizePrefix('/'), '')
  t.equal(normalizePrefix(''), '')
  t.equal(normalizePrefix('/public/api'), '/public/api')
})

t.test('bad options fail at registration with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[string, unknown, RegExp]> = [
    ['not an object', 'v1', /must be an object/],
    ['unknown top-level option', { versions: { v1: {} }, defaultVersion: 'v1' }, /unknown versioning option 'defaultVersion'/],
    ['no versions', { prefix: '/api' }, /at least one version/],
    ['empty versions', { versions: {} }, /at least one version/],
    ['versions as an array', { versions: ['v1'] }, /at least one version/],
    ['bad version name', { versions: { 1: {} } }, /version '1' is not a valid name/],
    ['version name with a suffix', { versions: { v1beta: {} } }, /version 'v1beta'/],
    ['version as a string', { versions: { v1: 'deprecated' } }, /versions\.v1 must be an object/],
    ['unknown version option', { versions: { v1: { retired: '2026-01-01' } } }, /unknown option versions\.v1\.retired/],
    ['unparseable date', { versions: { v1: { deprecated: 'next June' } } }, /versions\.v1\.deprecated must be an ISO 8601 date/],
    ['impossible date', { versions: { v1: { deprecated: '2026-13-45' } } }, /versions\.v1\.deprecated is not a valid date/],
    ['date-time without a zone', { versions: { v1: { sunset: '2026-06-01T00:00:00' } } }, /versions\.v1\.sunset must be an ISO 8601 date/],
    ['epoch number', { versions: { v1: { sunset: 1780272000000 } } }, /versions\.v1\.sunset must be an ISO 8601 date/],
    ['invalid Date', { versions: { v1: { sunset: new Date('nope') } } }, /not a valid date/],
    ['before 1970', { versions: { v1: { deprecated: '1969-12-31' } } }, /between 1970 and 9999/],
    ['sunset before deprecation', { versions: { v1: { deprecated: '2027-06-01', sunset: '2026-06-01' } } }, /sunset must be after versions\.v1\.deprecated/],
    ['sunset equal to deprecation', { versions: { v1: { deprecated: '2026-06-01', sunset: '2026-06-01T00:00:00Z' } } }, /sunset must be after/],
    ['unknown successor', { versions: { v1: { successor: 'v3' }, v2: {} } }, /successor 'v3' is not a declared version \(declared: v1, v2\)/],
    ['successor of itself', { versions: { v1: { successor: 'v1' } } }, /must name another version/],
    ['successor cycle', { versions: { v1: { successor: 'v2' }, v2: { successor: 'v1' } } }, /forms a cycle/],
    ['successor not a string', { versions: { v1: { successor: 2 }, v2: {} } }, /successor must be the name of another version/],
    ['deprecation link without deprecation', { versions: { v1: { deprecationLink: 'https://example.com' } } }, /deprecationLink needs versions\.v1\.deprecated/],
    ['relative deprecation link', { versions: { v1: { deprecated: '2026-06-01', deprecationLink: '/docs' } } }, /absolute http\(s\) URL/],
    ['javascript: deprecation link', { versions: { v1: { deprecated: '2026-06-01', deprecationLink: 'javascript:alert(1)' } } }, /absolute http\(s\) URL/],
    ['empty auth list', { versions: { v1: { auth: [] } } }, /versions\.v1\.auth must be a strategy name/],
    ['auth as an object', { versions: { v1: { auth: { strategies: ['jwt'] } } } }, /versions\.v1\.auth/],
    ['prefix without a slash', { prefix: 'api', versions: { v1: {} } }, /prefix must be a plain path/],
    ['prefix with a parameter', { prefix: '/:tenant', versions: { v1: {} } }, /without parameters or wildcards/],
    ['prefix not a string', { prefix: 1, versions: { v1: {} } }, /prefix must be a path/]
  ]
  for (const [name, opts, message] of rows) {
    t.throws(() => parseOptions(opts), { code: 'GK_CONFIG', message }, name)
  }
})

t.test('a deprecation link is serialised so it cannot break the Link header', async (t) => {
  const config = parseOptions({ versions: { v1: { deprecated: '2026-06-01', deprecationLink: 'https://example.com/a b<c>"d"' } } })
  t.equal(config.versions.get('v1')?.deprecationLink, 'https://example.com/a%20b%3Cc%3E%22d%22')
})
