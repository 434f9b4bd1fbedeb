import fc from 'fast-check'
import t from 'tap'
import { claims, fakeKey, startFakeIssuer } from '../resource-server/fake-issuer.js'
import { resourceApp } from '../resource-server/helpers.js'
import { RESOURCE } from '../resource-server/provider.js'
import { auditEvents, auditSweep, b64raw, capturedLogger, remember } from './helpers.js'
import { fuzz, headerString, mutate } from './fuzz.js'

// The Authorization header against the resourceServer strategy: mutations of a genuine
// token of the configured issuer, tokens of an issuer nobody configured, forged and junk values.
const fake = await startFakeIssuer()
const other = await startFakeIssuer({ keys: [await fakeKey('k1')] })
t.teardown(fake.close)
t.teardown(other.close)
const app = await resourceApp({ issuers: [{ issuer: fake.issuer }] }, { audit: { onEvent: (e) => { auditEvents.push(e) } } }, { logger: capturedLogger() })
t.teardown(() => app.close())
await app.ready()
const token = remember(await fake.sign(claims(fake, RESOURCE, { exp: Math.floor(Date.now() / 1000) + 3600 })))
const foreign = remember(await other.sign(claims(other, RESOURCE)))
const json = fc.jsonValue({ maxDepth: 3 })
const forged = fc.tuple(
  fc.oneof(json, fc.record({ alg: fc.constantFrom('HS256', 'none', 'RS256', 'ES256', 'EdDSA', ''), typ: fc.constantFrom('at+jwt', 'JWT', undefined), kid: fc.constantFrom('k1', 'nope', undefined), jku: fc.constant(`${other.issuer}/jwks`) }, { requiredKeys: ['alg'] })),
  fc.oneof(json, fc.record({ iss: fc.constantFrom(fake.issuer, other.issuer, ''), aud: fc.constantFrom(RESOURCE, 'x'), sub: fc.string(), exp: fc.oneof(fc.integer(), fc.string()) }, { requiredKeys: [] })),
  fc.string({ maxLength: 90 })
).map(([h, p, sig]) => `${b64raw(JSON.stringify(h))}.${b64raw(JSON.stringify(p))}.${b64raw(sig)}`)

const value = fc.oneof(
  { weight: 4, arbitrary: mutate(token) },
  { weight: 2, arbitrary: forged },
  { weight: 1, arbitrary: mutate(foreign) },
  { weight: 2, arbitrary: headerString(300) },
  { weight: 1, arbitrary: fc.constantFrom(token, foreign) }
)

t.test('fuzz: Authorization headers (resourceServer) [RFC 6750 §2.1; RFC 8725; RFC 9068; ASVS 13.1]', async (t) => {
  await fuzz(t, app, {
    name: 'resourceServer Authorization header',
    arbitrary: value,
    request: (v) => ({ url: '/me', headers: { authorization: `Bearer ${v}` } }),
    // `Bearer` and 1+ spaces (RFC 7235 §2.1 credentials: auth-scheme 1*SP token68): leading spaces keep it genuine.
    genuine: (v) => v.replace(/^ +/, '') === token
  })
  t.equal([...other.hits.values()].reduce((a, b) => a + b, 0), 0, 'nothing was ever fetched from the issuer nobody configured')
})

auditSweep(t)
