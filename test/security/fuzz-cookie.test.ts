import fc from 'fast-check'
import t from 'tap'
import { auditSweep, createUser, login, securityApp } from './helpers.js'
import { fuzz, headerString, mutate } from './fuzz.js'

// The Cookie header of a browser app: access cookie, refresh cookie, tossed and shadowed cookies (RFC 6265bis; ASVS 3.4, 13.1).
const ACCESS = '__Host-gk_access'
const { app } = await securityApp({ jwt: { cookie: { name: ACCESS } }, refresh: {}, rbac: false })
t.teardown(() => app.close())
await createUser(app, 'alice')
const { res } = await login(app, 'alice')
const access = (res.cookies as Array<{ name: string, value: string }>).find((c) => c.name === ACCESS)?.value as string
const refreshCookie = (res.cookies as Array<{ name: string, value: string }>).find((c) => c.name === '__Secure-gk_refresh')?.value as string

const name = fc.oneof(fc.constantFrom(ACCESS, '__Host-gk_access ', '__host-gk_access', 'gk_access', '__Secure-gk_refresh', '__Secure-gk_session', ''), headerString(20).filter((s) => !s.includes(ACCESS)))
const junkValue = fc.oneof(mutate(access), mutate(refreshCookie), headerString(100), fc.constant(refreshCookie), fc.constantFrom('%', '%E0%A4%A', '""', `"${access}"`, `s:${access}.sig`))
const pair = fc.tuple(name, junkValue).map(([n, v]) => `${n}=${v}`)
const other = fc.tuple(fc.constantFrom('theme', 'lang', '_ga'), fc.string({ unit: fc.constantFrom(...'abcdef0123'), maxLength: 10 })).map(([n, v]) => `${n}=${v}`)

const separator = fc.constantFrom('; ', ';', ' ; ')
const header: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.array(fc.oneof(pair, other), { minLength: 1, maxLength: 4 }), separator).map(([ps, sep]) => ps.join(sep)) },
  { weight: 2, arbitrary: headerString(300) },
  // The genuine cookie among harmless ones, in any position.
  { weight: 1, arbitrary: fc.tuple(fc.array(other, { maxLength: 2 }), fc.array(other, { maxLength: 2 })).map(([a, b]) => [...a, `${ACCESS}=${access}`, ...b].join('; ')) }
)

t.test('fuzz: Cookie headers of a cookie-transport app [RFC 6265bis; ASVS 3.4, 13.1]', async (t) => {
  await fuzz(t, app, {
    name: 'Cookie header',
    arbitrary: header,
    request: (h) => ({ url: '/me', headers: { cookie: h } }),
    // Genuine: the access cookie, as the cookie parser reads it (the first of its name wins), is exactly our token.
    genuine: (h) => app.parseCookie(h)[ACCESS] === access
  })
})

auditSweep(t)
