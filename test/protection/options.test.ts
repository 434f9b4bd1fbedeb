import t from 'tap'
import { parseBruteForce, parseRateLimit } from '../../lib/protection/options.js'
import { coreApp } from '../helpers.js'

t.test('rateLimit defaults', async (t) => {
  t.equal(parseRateLimit(undefined), null, 'off unless given')
  t.equal(parseRateLimit(false), null)
  t.match(parseRateLimit(true), { max: 100, timeWindow: 60_000, global: true, perKey: true, per: 'owner', maxKeys: 10_000 })
  t.equal(parseRateLimit({ per: 'credential' })?.per, 'credential')
  t.match(parseRateLimit({ max: 5, timeWindow: '10s', global: false, perKey: false }), { max: 5, timeWindow: 10_000, global: false, perKey: false })
})

t.test('allowList entries are kept in the form the limits count them', async (t) => {
  t.same(parseRateLimit({ allowList: ['ip:10.0.0.5', 'sub:42', 'key:k1', 'ip:::ffff:192.0.2.7', 'ip:2001:DB8::1', 'ip:2001:db8:0:0::/64', 'iss:["https://idp", "u"]'] })?.allowList,
    ['ip:10.0.0.5', 'sub:42', 'key:k1', 'ip:192.0.2.7', 'ip:2001:db8:0:0::/64', 'ip:2001:db8:0:0::/64', 'iss:["https://idp","u"]'])
  const fn = (): boolean => true
  t.equal(parseRateLimit({ allowList: fn })?.allowList, fn)
})

t.test('bruteForce defaults: on unless false', async (t) => {
  t.equal(parseBruteForce(false), null)
  const d = parseBruteForce(undefined)
  t.same(d, {
    account: { max: 5, windowMs: 900_000 },
    ip: { max: 50, windowMs: 900_000 },
    lockout: { baseMs: 60_000, factor: 2, maxMs: 3_600_000 },
    hardCap: 100,
    forgetMs: 86_400_000,
    stuffing: { accounts: 10, windowMs: 600_000, blockMs: null },
    maxKeys: 100_000
  })
  t.same(parseBruteForce(true), d)
  t.ok(Object.isFrozen(d))
  t.equal(parseBruteForce({ credentialStuffing: false })?.stuffing, null)
  t.equal(parseBruteForce({ credentialStuffing: { block: '30m' } })?.stuffing?.blockMs, 1_800_000)
})

t.test('bad options fail at registration with GK_CONFIG naming the option', async (t) => {
  const rows: Array<[string, Record<string, unknown>, RegExp]> = [
    ['rateLimit not an object', { rateLimit: 'yes' }, /rateLimit must be an object/],
    ['unknown rateLimit key', { rateLimit: { maxx: 1 } }, /unknown option rateLimit\.maxx/],
    ['rateLimit.max zero', { rateLimit: { max: 0 } }, /rateLimit\.max must be an integer/],
    ['rateLimit.timeWindow garbage', { rateLimit: { timeWindow: 'soon' } }, /rateLimit\.timeWindow/],
    ['rateLimit.timeWindow too short', { rateLimit: { timeWindow: 10 } }, /rateLimit\.timeWindow must be between/],
    ['rateLimit.global not boolean', { rateLimit: { global: 1 } }, /rateLimit\.global must be a boolean/],
    ['rateLimit.allowList of numbers', { rateLimit: { allowList: [1] } }, /rateLimit\.allowList/],
    ['rateLimit.allowList of a bare IPv4 address', { rateLimit: { allowList: ['127.0.0.1'] } }, /allowList entry '127\.0\.0\.1' is an address without its kind: write 'ip:127\.0\.0\.1'/],
    ['rateLimit.allowList of a bare IPv6 address', { rateLimit: { allowList: ['::1'] } }, /write 'ip:::1'/],
    ['rateLimit.allowList of a user id without its kind', { rateLimit: { allowList: ['monitoring'] } }, /entry 'monitoring' never matches a caller: entries are rate-limit keys, 'ip:<address>', 'sub:<user id>' or 'key:<API key id>'/],
    ['rateLimit.allowList of a CIDR range', { rateLimit: { allowList: ['ip:10.0.0.0/8'] } }, /entry 'ip:10\.0\.0\.0\/8' is no address/],
    ['rateLimit.allowList of a host name', { rateLimit: { allowList: ['ip:localhost'] } }, /is no address/],
    ['rateLimit.allowList of an empty subject', { rateLimit: { allowList: ['sub:'] } }, /never matches a caller/],
    ['rateLimit.allowList of an unknown kind', { rateLimit: { allowList: ['user:42'] } }, /never matches a caller/],
    ['rateLimit.allowList of a malformed issuer key', { rateLimit: { allowList: ['iss:https://idp'] } }, /is no issuer key: write 'iss:\["<issuer>","<subject>"\]'/],
    ['rateLimit.per unknown', { rateLimit: { per: 'key' } }, /rateLimit\.per must be 'owner' or 'credential'/],
    ['unknown bruteForce key', { bruteForce: { tries: 3 } }, /unknown option bruteForce\.tries/],
    ['bruteForce.account.max zero', { bruteForce: { account: { max: 0 } } }, /bruteForce\.account\.max/],
    ['bruteForce.ip not an object', { bruteForce: { ip: 5 } }, /bruteForce\.ip must be an object/],
    ['hardCap above 100', { bruteForce: { hardCap: 101 } }, /bruteForce\.hardCap must be an integer from 1 to 100/],
    ['account.max above hardCap', { bruteForce: { account: { max: 20 }, hardCap: 10 } }, /must not exceed bruteForce\.hardCap/],
    ['lockout factor below 1', { bruteForce: { lockout: { factor: 0.5 } } }, /lockout\.factor/],
    ['lockout max below base', { bruteForce: { lockout: { base: '10m', max: '5m' } } }, /lockout\.max must be at least/],
    ['forgetAfter below lockout.max', { bruteForce: { forgetAfter: '30m' } }, /forgetAfter must be at least/],
    ['stuffing accounts of 1', { bruteForce: { credentialStuffing: { accounts: 1 } } }, /credentialStuffing\.accounts/],
    ['stuffing block garbage', { bruteForce: { credentialStuffing: { block: 'forever' } } }, /credentialStuffing\.block/]
  ]
  for (const [name, opts, message] of rows) {
    await t.rejects(coreApp(opts), { code: 'GK_CONFIG', message }, name)
  }
})
