import fc from 'fast-check'
import t from 'tap'
import { deprecationValue, encodeUriReference, linkValue, sunsetValue } from '../../lib/versioning/headers.js'

// RFC 9110 §5.6.7 IMF-fixdate.
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (0[1-9]|[12]\d|3[01]) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d GMT$/
// RFC 9651 §3.3.7 Date: "@" sf-integer, at most 15 digits.
const SF_DATE = /^@-?\d{1,15}$/
// RFC 8288 §3 link-value with one rel parameter; a URI-Reference holds no '<', '>', '"' or whitespace.
const LINK_VALUE = /^<[^<>"\s]*>; rel="[a-z-]+"$/
const MAX_MS = Date.UTC(10000, 0, 1) - 1

t.test('Deprecation is an RFC 9651 Date: @ and whole seconds since the epoch', async (t) => {
  t.equal(deprecationValue(Date.UTC(2026, 5, 1)), '@1780272000')
  t.equal(deprecationValue(0), '@0')
  t.equal(deprecationValue(Date.UTC(2026, 5, 1) + 999), '@1780272000', 'milliseconds are truncated, not rounded up')
  fc.assert(fc.property(fc.integer({ min: 0, max: MAX_MS }), (ms) => {
    const v = deprecationValue(ms)
    return SF_DATE.test(v) && Number(v.slice(1)) === Math.floor(ms / 1000)
  }))
})

t.test('Sunset is an IMF-fixdate', async (t) => {
  t.equal(sunsetValue(Date.UTC(2027, 5, 1)), 'Tue, 01 Jun 2027 00:00:00 GMT')
  t.equal(sunsetValue(Date.UTC(2018, 11, 31, 23, 59, 59)), 'Mon, 31 Dec 2018 23:59:59 GMT', 'the example date of RFC 8594 §3, weekday corrected')
  t.equal(sunsetValue(0), 'Thu, 01 Jan 1970 00:00:00 GMT')
  t.equal(sunsetValue(MAX_MS), 'Fri, 31 Dec 9999 23:59:59 GMT')
  fc.assert(fc.property(fc.integer({ min: 0, max: MAX_MS }), (ms) => {
    const v = sunsetValue(ms)
    return IMF_FIXDATE.test(v) && Date.parse(v) === Math.floor(ms / 1000) * 1000
  }))
})

t.test('a link-value is <uri>; rel="relation"', async (t) => {
  t.equal(linkValue('/api/v2', 'successor-version'), '</api/v2>; rel="successor-version"')
  t.match(linkValue('https://example.com/docs', 'deprecation'), LINK_VALUE)
})

t.test('request paths are percent-encoded so they cannot break out of the brackets', async (t) => {
  const rows: Array<[string, string]> = [
    ['/posts/42', '/posts/42'],
    ['/posts/a>; rel="x"', '/posts/a%3E;%20rel=%22x%22'],
    ['/posts/<script>', '/posts/%3Cscript%3E'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/emoji/\u{1F600}', '/emoji/%F0%9F%98%80'],
    ['/already%20encoded', '/already%20encoded'],
    ['/tab\there', '/tab%09here'],
    ['/back\\slash`{}|^', '/back%5Cslash%60%7B%7D%7C%5E']
  ]
  for (const [input, expected] of rows) t.equal(encodeUriReference(input), expected, JSON.stringify(input))
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => LINK_VALUE.test(linkValue(encodeUriReference(`/${s}`), 'successor-version'))))
})
