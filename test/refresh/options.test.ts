import t from 'tap'
import { parseOptions, type RefreshOptions } from '../../lib/refresh/options.js'

const SECRET = 'k'.repeat(32)

t.test('defaults', async (t) => {
  const o = parseOptions({}, false)
  t.equal(o.ttlMs, 30 * 86_400_000)
  t.equal(o.idleMs, 7 * 86_400_000)
  t.equal(o.graceMs, 0)
  t.equal(o.successorKey, null)
  t.equal(o.transport, 'body')
  t.same(o.routes, { refresh: '/api/token/refresh', logout: '/api/logout', logoutAll: '/api/logout/all', sessions: '/api/sessions' })
  t.equal(o.purgeMs, 3_600_000)
  t.ok(Object.isFrozen(o))
})

t.test('the transport defaults to the cookie when access tokens travel in a cookie', async (t) => {
  t.equal(parseOptions({}, true).transport, 'cookie')
  t.equal(parseOptions({ transport: 'body' }, true).transport, 'body')
})

t.test('valid settings are taken', async (t) => {
  const o = parseOptions({
    ttl: '90d',
    idleTtl: '1d',
    reuseGrace: '10s',
    secret: Buffer.alloc(32, 1),
    transport: 'both',
    purgeInterval: false,
    routes: { refresh: '/auth/refresh', logout: '/auth/logout', logoutAll: false, sessions: false }
  }, false)
  t.equal(o.ttlMs, 90 * 86_400_000)
  t.equal(o.idleMs, 86_400_000)
  t.equal(o.graceMs, 10_000)
  t.equal(o.successorKey?.length, 32)
  t.equal(o.transport, 'both')
  t.equal(o.purgeMs, null)
  t.same(o.routes, { refresh: '/auth/refresh', logout: '/auth/logout', logoutAll: false, sessions: false })
  t.equal(parseOptions({ reuseGrace: '60s', secret: SECRET }, false).graceMs, 60_000, 'the grace may be exactly 60s')
})

t.test('bad options fail at registration with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[string, unknown, RegExp]> = [
    ['not an object', null, /must be an object/],
    ['an unknown option', { ttl: '1d', foo: 1 }, /unknown refresh option 'foo'/],
    ['a ttl that is not a duration', { ttl: 'soon' }, /ttl must be a duration/],
    ['a ttl over a year', { ttl: '400d' }, /ttl must be between/],
    ['an idle ttl longer than the ttl', { ttl: '1d', idleTtl: '2d' }, /idleTtl must not exceed ttl/],
    ['a grace over 60s', { reuseGrace: '61s', secret: SECRET }, /reuseGrace must be between 0ms and 1m/],
    ['a grace without a secret', { reuseGrace: '5s' }, /needs a secret/],
    ['a short secret', { secret: 'short' }, /at least 32 bytes/],
    ['a secret of the wrong type', { secret: 42 }, /string or a Buffer/],
    ['an unknown transport', { transport: 'header' }, /transport must be one of cookie, body, both/],
    ['routes that are not an object', { routes: 'x' }, /routes must be an object/],
    ['an unknown route', { routes: { login: '/x' } }, /unknown refresh option routes\.login/],
    ['a relative route', { routes: { refresh: 'api/refresh' } }, /routes\.refresh must be a path/],
    ['a route with a parameter', { routes: { sessions: '/api/:user/sessions' } }, /routes\.sessions must be a path/],
    ['a route with a trailing slash', { routes: { logoutAll: '/api/logout/all/' } }, /routes\.logoutAll must be a path/],
    ['the refresh route turned off', { routes: { refresh: false } }, /routes\.refresh must be a path/],
    ['a purge interval under a second', { purgeInterval: '10ms' }, /purgeInterval must be between/]
  ]
  for (const [name, opts, message] of rows) {
    t.throws(() => parseOptions(opts as RefreshOptions, false), { code: 'GK_CONFIG', message }, name)
  }
})
