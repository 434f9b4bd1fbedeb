import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { accounts, type AccountsOptions } from '../../lib/accounts/index.js'
import { normalizeAccountsOptions } from '../../lib/accounts/options.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { SECRET } from './helpers.js'

const send = (): void => {}
const base = { send, origin: 'https://app.example' }

t.test('defaults', async (t) => {
  const o = normalizeAccountsOptions(base)
  t.match(o, {
    origin: 'https://app.example',
    pages: { resetPassword: '/reset-password', verifyEmail: '/verify-email', revertEmail: '/revert-email', forgotPassword: '/forgot-password' },
    prefix: '/api',
    ttl: { passwordReset: 1_800_000, emailVerification: 86_400_000, emailChange: 3_600_000, emailRevert: 604_800_000 },
    perAddress: { max: 10, windowMs: 900_000 },
    perAccount: { max: 3, windowMs: 3_600_000 },
    verifyOnRegister: true,
    requireVerifiedEmail: false,
    purgeMs: 3_600_000,
    maxPending: 1000
  })
  t.ok(Object.isFrozen(o))
})

t.test('every option can be set', async (t) => {
  const o = normalizeAccountsOptions({
    ...base,
    origin: 'http://localhost:5173',
    pages: { resetPassword: '/auth/reset', verifyEmail: '/auth/verify', revertEmail: '/auth/revert', forgotPassword: '/auth/forgot' },
    routes: { prefix: '' },
    ttl: { passwordReset: '1h', emailVerification: '7d', emailChange: '24h', emailRevert: '30d' },
    limits: { perAddress: { max: 1, window: '1m' }, perAccount: { max: 1, window: '1d' } },
    verifyOnRegister: false,
    requireVerifiedEmail: { role: 'unverified' },
    purgeInterval: false,
    maxPending: 5
  })
  t.match(o, {
    origin: 'http://localhost:5173',
    prefix: '',
    ttl: { passwordReset: 3_600_000 },
    perAddress: { max: 1, windowMs: 60_000 },
    verifyOnRegister: false,
    requireVerifiedEmail: { role: 'unverified' },
    purgeMs: null,
    maxPending: 5
  })
  t.equal(normalizeAccountsOptions({ ...base, routes: false }).prefix, null)
  t.equal(normalizeAccountsOptions({ ...base, requireVerifiedEmail: 'login' }).requireVerifiedEmail, 'login')
  t.equal(normalizeAccountsOptions({ ...base, origin: 'https://app.example/' }).origin, 'https://app.example', 'a trailing slash is dropped')
  t.equal(normalizeAccountsOptions({ ...base, origin: 'http://127.0.0.1:3000' }).origin, 'http://127.0.0.1:3000')
})

t.test('bad options are GK_CONFIG errors that say what to change (table)', async (t) => {
  const rows: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /accounts options must be an object/],
    ['an unknown option', { ...base, sender: send }, /unknown option accounts options.sender/],
    ['no send', { origin: base.origin }, /accounts needs send/],
    ['send not a function', { ...base, send: 'smtp://x' }, /accounts needs send/],
    ['no origin', { send }, /origin is required/],
    ['a relative origin', { ...base, origin: 'app.example' }, /absolute URL/],
    ['an origin with a path', { ...base, origin: 'https://app.example/app' }, /bare origin/],
    ['an origin with a query', { ...base, origin: 'https://app.example?x=1' }, /bare origin/],
    ['an origin with a fragment', { ...base, origin: 'https://app.example#x' }, /bare origin/],
    ['an origin with credentials', { ...base, origin: 'https://u:p@app.example' }, /bare origin/],
    ['plain http to a public host', { ...base, origin: 'http://app.example' }, /must use https/],
    ['another scheme', { ...base, origin: 'javascript:alert(1)' }, /bare origin|must use https/],
    ['a page without a slash', { ...base, pages: { resetPassword: 'reset' } }, /pages.resetPassword must be a path/],
    ['a page with a fragment', { ...base, pages: { verifyEmail: '/v#x' } }, /pages.verifyEmail must be a path/],
    ['an unknown page', { ...base, pages: { login: '/login' } }, /unknown option accounts pages.login/],
    ['routes not an object', { ...base, routes: true }, /accounts routes must be an object/],
    ['a prefix with a trailing slash', { ...base, routes: { prefix: '/api/' } }, /routes.prefix/],
    ['a reset link over an hour', { ...base, ttl: { passwordReset: '2h' } }, /ttl.passwordReset must be between 1m and 1h/],
    ['a reset link under a minute', { ...base, ttl: { passwordReset: '10s' } }, /ttl.passwordReset must be between/],
    ['a verification link over a week', { ...base, ttl: { emailVerification: '8d' } }, /ttl.emailVerification/],
    ['a change link over a day', { ...base, ttl: { emailChange: '2d' } }, /ttl.emailChange/],
    ['a revert link over 30 days', { ...base, ttl: { emailRevert: '31d' } }, /ttl.emailRevert/],
    ['a duration that is no duration', { ...base, ttl: { passwordReset: 'soon' } }, /ttl.passwordReset/],
    ['a limit of 0', { ...base, limits: { perAccount: { max: 0 } } }, /limits.perAccount.max must be an integer/],
    ['an unknown limit', { ...base, limits: { perIp: {} } }, /unknown option accounts limits.perIp/],
    ['verifyOnRegister not a boolean', { ...base, verifyOnRegister: 'yes' }, /verifyOnRegister must be a boolean/],
    ['requireVerifiedEmail true', { ...base, requireVerifiedEmail: true }, /requireVerifiedEmail/],
    ['requireVerifiedEmail with an empty role', { ...base, requireVerifiedEmail: { role: '' } }, /requireVerifiedEmail.role/],
    ['purgeInterval 0', { ...base, purgeInterval: 0 }, /purgeInterval must be between/],
    ['maxPending 0', { ...base, maxPending: 0 }, /maxPending must be an integer/]
  ]
  for (const [name, opts, message] of rows) t.throws(() => normalizeAccountsOptions(opts as AccountsOptions), { code: 'GK_CONFIG', message }, name)
})

async function register (t: Test, store: GatekeeperStore, withJwt = true): Promise<unknown> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store })
  if (withJwt) await app.register(jwt, { secret: SECRET, issuer: 'i', audience: 'a' })
  await app.register(accounts, base)
  return await app.ready()
}

t.test('the plugin refuses a store without what it needs, and a missing jwt plugin', async (t) => {
  const full = memoryStore()
  const { findByEmail: _f, ...usersWithout } = full.users
  const { accountTokens: _a, ...withoutTokens } = full
  const { consume: _c, ...tokensWithout } = full.accountTokens!
  await t.rejects(register(t, { ...full, users: usersWithout }), { code: 'GK_CONFIG', message: /needs store.users.findByEmail/ })
  await t.rejects(register(t, withoutTokens), { code: 'GK_CONFIG', message: /needs store.accountTokens/ })
  await t.rejects(register(t, { ...full, accountTokens: tokensWithout as never }), { code: 'GK_CONFIG', message: /store.accountTokens.consume\(\) is missing/ })
  await t.rejects(register(t, memoryStore(), false), { code: 'GK_CONFIG', message: /register the jwt plugin before accounts/ })
  await t.resolves(register(t, memoryStore()))
})

t.test('registered twice is a GK_CONFIG error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatekeeper, { store: memoryStore() })
  await app.register(jwt, { secret: SECRET, issuer: 'i', audience: 'a' })
  await app.register(accounts, base)
  await t.rejects(async () => { await app.register(accounts, { ...base, routes: false }).ready() }, { code: 'GK_CONFIG', message: /registered twice/ })
})

t.test('routes: false registers no route; a prefix moves them', async (t) => {
  for (const [routes, expected] of [[false, []], [{ prefix: '/v1' }, ['/v1/email/change', '/v1/email/revert', '/v1/email/verify', '/v1/email/verify/resend', '/v1/password/forgot', '/v1/password/reset']]] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(gatekeeper, { store: memoryStore() })
    await app.register(jwt, { secret: SECRET, issuer: 'i', audience: 'a', routes: false })
    await app.register(accounts, { ...base, routes })
    await app.ready()
    t.same(app.gatekeeper.routes().map((r) => r.url).filter((u) => u !== '/.well-known/jwks.json').sort(), expected)
    t.ok(app.gatekeeper.accounts, 'the API is there either way')
  }
})
