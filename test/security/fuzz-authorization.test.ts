import fc from 'fast-check'
import t from 'tap'
import { AUDIENCE, auditSweep, b64raw, claims, createUser, forge, HS_HEADER, ISSUER, remember, securityApp, SECRET } from './helpers.js'
import { fuzz, headerString, mutate } from './fuzz.js'

// The Authorization header against the jwt and apiKey strategies together (jwt_tool-style fuzzing, RFC 6750 §2.1).
const { app, clock } = await securityApp({ apiKey: {}, rbac: false })
t.teardown(() => app.close())
const id = await createUser(app, 'alice')
const jwt = remember((await app.gatekeeper.tokens!.issue({ id, roles: ['user'] })).accessToken)
const key = remember((await app.gatekeeper.apiKeys.create({ ownerId: id, name: 'fuzz' })).key)

/** Exactly the genuine credentials: our JWT after `Bearer` and 1+ spaces (RFC 6750 §2.1), or our key after `Bearer `. */
function genuine (value: string): boolean {
  if (value.length < 7 || value.slice(0, 6).toLowerCase() !== 'bearer') return false
  const rest = value.slice(6)
  if (rest === ` ${key}`) return true
  const token = rest.replace(/^ +/, '')
  return token !== rest && token === jwt
}

const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', 'Bearer', 'Basic ', 'ApiKey ', 'Token ', '', ' Bearer ')
const json = fc.jsonValue({ maxDepth: 3 })
const forged = fc.tuple(
  fc.oneof(json, fc.record({ alg: fc.constantFrom('HS256', 'none', 'RS256', 'EdDSA', 'ES256', 'HS512', ''), typ: fc.constantFrom('at+jwt', 'JWT', undefined), kid: fc.option(fc.string()) }, { requiredKeys: ['alg'] })),
  fc.oneof(json, fc.record({ sub: fc.oneof(fc.string(), fc.integer()), roles: fc.oneof(fc.constant(['admin']), json), exp: fc.oneof(fc.integer(), fc.double(), fc.string()), iat: fc.integer(), iss: fc.string(), aud: fc.string(), jti: fc.string() }, { requiredKeys: [] })),
  fc.constantFrom(SECRET, '', 'secret', null)
).map(([h, p, k]) => forge(h, p, k))
// Validly signed with our secret, each with one claim or header a fuzzer broke: signature-valid junk must
// still be refused by the claim checks (RFC 8725 §3.8-3.11), so none of these is genuine.
const now = clock.now / 1000
const broken: Array<fc.Arbitrary<Record<string, unknown>>> = [
  fc.oneof(fc.string(), fc.constant(null), fc.boolean(), fc.array(fc.integer()), fc.integer({ min: -1e15, max: now - 6 }), fc.double({ min: -1e15, max: now - 5.01, noNaN: true })).map((exp) => ({ exp })),
  fc.oneof(fc.integer({ min: now + 6, max: 1e12 }), fc.string(), fc.constant(null)).map((iat) => ({ iat })),
  fc.integer({ min: now + 6, max: 1e12 }).map((nbf) => ({ nbf })),
  fc.oneof(fc.integer(), fc.constant(''), fc.constant(null), fc.array(fc.string())).map((sub) => ({ sub })),
  fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer(), { minLength: 1 }), fc.dictionary(fc.string(), fc.string())).map((roles) => ({ roles })),
  fc.oneof(fc.string(), fc.array(fc.string())).filter((iss) => iss !== ISSUER).map((iss) => ({ iss })),
  fc.oneof(fc.string(), fc.array(fc.string())).filter((aud) => aud !== AUDIENCE && !(Array.isArray(aud) && aud.includes(AUDIENCE))).map((aud) => ({ aud })),
  fc.oneof(fc.integer(), fc.constant(null)).map((jti) => ({ jti })),
  fc.string().filter((kind) => kind !== 'user' && kind !== 'application').map((kind) => ({ kind }))
]
const signedJunk = fc.tuple(fc.oneof(...broken), fc.oneof(fc.constant(HS_HEADER), fc.string().filter((typ) => typ !== 'at+jwt' && typ !== 'application/at+jwt').map((typ) => ({ alg: 'HS256', typ }))))
  .map(([patch, header]) => forge(header, { ...claims(clock), ...(header === HS_HEADER ? patch : {}) }))
const token = fc.oneof(
  { weight: 3, arbitrary: mutate(jwt) },
  { weight: 2, arbitrary: mutate(key) },
  { weight: 2, arbitrary: forged },
  { weight: 2, arbitrary: signedJunk },
  { weight: 2, arbitrary: headerString(300) },
  { weight: 1, arbitrary: fc.tuple(fc.string(), fc.string(), fc.string()).map((p) => p.map((s) => b64raw(s)).join('.')) },
  { weight: 1, arbitrary: fc.constantFrom(jwt, key) }
)
const header = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(scheme, token).map(([s, v]) => s + v) },
  { weight: 1, arbitrary: headerString(400) },
  { weight: 1, arbitrary: fc.constantFrom(`Bearer ${jwt}`, `Bearer ${key}`, `bearer   ${jwt}`) }
)

t.test('fuzz: Authorization headers (jwt + apiKey) [RFC 6750 §2.1; RFC 8725; ASVS 13.1; API8:2023]', async (t) => {
  await fuzz(t, app, {
    name: 'Authorization header',
    arbitrary: header,
    request: (value) => ({ url: '/me', headers: { authorization: value } }),
    genuine
  })
})

auditSweep(t)
