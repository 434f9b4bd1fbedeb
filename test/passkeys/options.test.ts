import t from 'tap'
import { normalizePasskeysOptions, type PasskeysOptions } from '../../lib/passkeys/options.js'

const good: PasskeysOptions = { rpID: 'example.com', origins: ['https://example.com', 'https://app.example.com'] }

t.test('defaults: rpName is the RP ID, 5-minute challenges, 10-minute recent login, 10 passkeys, routes under /api/passkeys', async (t) => {
  const o = normalizePasskeysOptions(good)
  t.same(o, { rpID: 'example.com', rpName: 'example.com', origins: ['https://example.com', 'https://app.example.com'], challengeMs: 300_000, recentLoginMs: 600_000, maxPerUser: 10, prefix: '/api/passkeys' })
  t.ok(Object.isFrozen(o))
  t.same(normalizePasskeysOptions({ rpID: 'localhost', origins: ['http://localhost:3000', 'http://app.localhost:3000'] }).origins, ['http://localhost:3000', 'http://app.localhost:3000'], 'http on localhost and its subdomains')
  t.equal(normalizePasskeysOptions({ ...good, routes: false }).prefix, null)
})

const rows: Array<[string, unknown, RegExp]> = [
  ['no rpID', { origins: ['https://example.com'] }, /needs rpID/],
  ['an rpID with a scheme', { ...good, rpID: 'https://example.com' }, /rpID must be a lower-case host name/],
  ['an rpID with a port', { ...good, rpID: 'example.com:443' }, /rpID must be a lower-case host name/],
  ['an IP address as rpID', { ...good, rpID: '192.168.0.1' }, /rpID must be a lower-case host name/],
  ['no origins', { rpID: 'example.com' }, /needs origins/],
  ['an empty origin list', { ...good, origins: [] }, /needs origins/],
  ['an origin with a path', { ...good, origins: ['https://example.com/login'] }, /bare origins/],
  ['an origin with a trailing slash', { ...good, origins: ['https://example.com/'] }, /bare origins/],
  ['a relative origin', { ...good, origins: ['example.com'] }, /absolute origins/],
  ['plain http off localhost', { ...good, origins: ['http://example.com'] }, /must use https/],
  ['an origin on another domain', { ...good, origins: ['https://example.org'] }, /not on rpID example.com/],
  ['an origin whose host merely ends like the rpID', { ...good, origins: ['https://badexample.com'] }, /not on rpID example.com/],
  ['a challenge lifetime over 10 minutes', { ...good, challengeTtl: '1h' }, /challengeTtl must be between/],
  ['a recent-login window over an hour', { ...good, recentLogin: '2h' }, /recentLogin must be between/],
  ['maxPerUser 0', { ...good, maxPerUser: 0 }, /maxPerUser must be an integer/],
  ['a prefix without a leading slash', { ...good, routes: { prefix: 'api' } }, /routes.prefix must be a path/],
  ['an unknown option', { ...good, rpId: 'example.com' }, /unknown option passkeys options.rpId/],
  ['an empty rpName', { ...good, rpName: '' }, /rpName must be/]
]

for (const [what, opts, message] of rows) {
  t.test(`${what} → GK_CONFIG`, async (t) => {
    t.throws(() => normalizePasskeysOptions(opts as PasskeysOptions), { code: 'GK_CONFIG', message })
  })
}
