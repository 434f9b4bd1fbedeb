import { createHash, createPublicKey, KeyObject, sign, type JsonWebKey } from 'node:crypto'
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import t, { type Test } from 'tap'
import { bearer, clock, resourceApp as baseApp } from '../resource-server/helpers.js'
import { auditEvents, auditSweep, capturedLogger, remember } from './helpers.js'
import { claims, fakeKey, nowS, startFakeIssuer, type FakeIssuer } from '../resource-server/fake-issuer.js'
import { RESOURCE } from '../resource-server/provider.js'

// Attacks on the resourceServer strategy, one row each: the token a caller
// presents and the answer the API must give. The issuer is a loopback
// server under the test's control, so every row can bend one thing.

/** The resource app with this suite's log and audit capture (swept for secrets at the end). */
const resourceApp: typeof baseApp = async (rs, core = {}) => await baseApp(rs, { ...core, audit: { onEvent: (e) => { auditEvents.push(e); return core.audit?.onEvent?.(e) } } }, { logger: capturedLogger() })

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** A compact JWS built by hand (header and payload bytes as given), ES256-signed with the issuer's first key: for what jose refuses to produce. */
function rawSign (f: FakeIssuer, header: Record<string, unknown>, payload: Buffer): string {
  const input = `${b64(header)}.${payload.toString('base64url')}`
  const key = KeyObject.from(f.keys[0]?.privateKey as CryptoKey)
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}

async function setup (t: Test): Promise<{ fake: FakeIssuer, attacker: FakeIssuer, app: Awaited<ReturnType<typeof resourceApp>> }> {
  const fake = await startFakeIssuer()
  const attacker = await startFakeIssuer({ keys: [await fakeKey('k1')] })
  t.teardown(fake.close)
  t.teardown(attacker.close)
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }] })
  t.teardown(() => app.close())
  await app.ready()
  return { fake, attacker, app }
}

type Row = [name: string, make: (f: FakeIssuer, a: FakeIssuer) => Promise<string>, status: number, code?: string]

const ROWS: Row[] = [
  ['a valid token of the configured issuer (control row)', async (f) => await f.sign(claims(f, RESOURCE)), 200],
  ['a token of an issuer that is not configured, signed with its own keys', async (f, a) => await a.sign(claims(a, RESOURCE)), 401, 'GK_TOKEN_INVALID'],
  ['an unconfigured issuer claiming to be ours, signed with its keys', async (f, a) => await a.sign(claims(f, RESOURCE)), 401, 'GK_TOKEN_INVALID'],
  ['a token for another audience (resource)', async (f) => await f.sign(claims(f, 'https://other.api.test')), 401, 'GK_TOKEN_INVALID'],
  ['an aud array that holds our resource among others', async (f) => await f.sign(claims(f, ['https://other.api.test', RESOURCE])), 200],
  ['an aud array without our resource', async (f) => await f.sign(claims(f, ['https://a.test', 'https://b.test'])), 401, 'GK_TOKEN_INVALID'],
  ['an iss array holding our issuer', async (f) => await f.sign(claims(f, RESOURCE, { iss: [f.issuer] as unknown as string })), 401, 'GK_TOKEN_INVALID'],
  ['no aud at all', async (f) => await f.sign({ ...claims(f, RESOURCE), aud: undefined }), 401, 'GK_TOKEN_INVALID'],
  ['alg none (unsigned)', async (f) => `${b64({ alg: 'none', typ: 'at+jwt', kid: 'k1' })}.${b64(claims(f, RESOURCE))}.`, 401, 'GK_TOKEN_INVALID'],
  ['alg NONE in another case', async (f) => `${b64({ alg: 'NONE', typ: 'at+jwt' })}.${b64(claims(f, RESOURCE))}.`, 401, 'GK_TOKEN_INVALID'],
  ['HS256 signed with the published public key as PEM', async (f) => {
    const pem = createPublicKey({ key: f.keys[0]?.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string
    return await new SignJWT(claims(f, RESOURCE)).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' }).sign(new TextEncoder().encode(pem))
  }, 401, 'GK_TOKEN_INVALID'],
  ['HS256 signed with the published JWK as JSON', async (f) =>
    await new SignJWT(claims(f, RESOURCE)).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' }).sign(new TextEncoder().encode(JSON.stringify(f.keys[0]?.publicJwk))), 401, 'GK_TOKEN_INVALID'],
  ['an ID token (typ JWT, nonce, aud the client)', async (f) => await f.sign({ ...claims(f, 'web'), nonce: 'n', at_hash: 'x' }, { typ: 'JWT' }), 401, 'GK_TOKEN_INVALID'],
  ['an ID token whose aud is the resource', async (f) => await f.sign({ ...claims(f, RESOURCE), nonce: 'n' }, { typ: 'JWT' }), 401, 'GK_TOKEN_INVALID'],
  ['no typ header', async (f) => await f.sign(claims(f, RESOURCE), { typ: null }), 401, 'GK_TOKEN_INVALID'],
  ['typ JWT', async (f) => await f.sign(claims(f, RESOURCE), { typ: 'JWT' }), 401, 'GK_TOKEN_INVALID'],
  ['typ application/at+jwt (RFC 9068 §2.1 allows the full media type)', async (f) => await f.sign(claims(f, RESOURCE), { typ: 'application/at+jwt' }), 200],
  ['expired', async (f) => await f.sign(claims(f, RESOURCE, { iat: nowS() - 700, exp: nowS() - 60 })), 401, 'GK_TOKEN_EXPIRED'],
  ['expired within the clock tolerance (5 s)', async (f) => await f.sign(claims(f, RESOURCE, { exp: nowS() - 2 })), 200],
  ['no exp', async (f) => await f.sign({ ...claims(f, RESOURCE), exp: undefined }), 401, 'GK_TOKEN_INVALID'],
  ['exp a string', async (f) => await f.sign(claims(f, RESOURCE, { exp: String(nowS() + 600) as unknown as number })), 401, 'GK_TOKEN_INVALID'],
  ['nbf in the future', async (f) => await f.sign(claims(f, RESOURCE, { nbf: nowS() + 120 })), 401, 'GK_TOKEN_INVALID'],
  ['iat in the future', async (f) => await f.sign(claims(f, RESOURCE, { iat: nowS() + 120 })), 401, 'GK_TOKEN_INVALID'],
  ['no subject and no client', async (f) => await f.sign({ ...claims(f, RESOURCE), sub: undefined, client_id: undefined }), 401, 'GK_TOKEN_INVALID'],
  ['a kid the issuer never published', async (f) => await f.sign(claims(f, RESOURCE), { header: { kid: 'nope' } }), 401, 'GK_TOKEN_INVALID'],
  ['signed by an attacker key under our kid', async (f, a) => await a.sign(claims(f, RESOURCE)), 401, 'GK_TOKEN_INVALID'],
  ['a jku header pointing at the attacker, signed by the attacker', async (f, a) => await a.sign(claims(f, RESOURCE), { header: { jku: `${a.issuer}/jwks` } }), 401, 'GK_TOKEN_INVALID'],
  ['an x5u header pointing at the attacker', async (f, a) => await a.sign(claims(f, RESOURCE), { header: { x5u: `${a.issuer}/cert.pem` } }), 401, 'GK_TOKEN_INVALID'],
  ['an embedded jwk of the attacker', async (f, a) => await a.sign(claims(f, RESOURCE), { header: { jwk: a.keys[0]?.publicJwk } }), 401, 'GK_TOKEN_INVALID'],
  ['an ES256 key named by the kid, alg RS256 from an RSA key of the attacker', async (f) => {
    const rsa = await fakeKey('k1', 'RS256')
    return await f.sign(claims(f, RESOURCE), { key: rsa })
  }, 401, 'GK_TOKEN_INVALID'],
  ['a crit header we do not understand', async (f) => rawSign(f, { alg: 'ES256', typ: 'at+jwt', kid: 'k1', crit: ['exp2'], exp2: 1 }, Buffer.from(JSON.stringify(claims(f, RESOURCE)))), 401, 'GK_TOKEN_INVALID'],
  ['the control row signed by hand (the helper signs what the issuer would)', async (f) => rawSign(f, { alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, Buffer.from(JSON.stringify(claims(f, RESOURCE)))), 200],
  ['a payload changed after signing', async (f) => {
    const [h, , s] = (await f.sign(claims(f, RESOURCE))).split('.')
    return `${h as string}.${b64(claims(f, RESOURCE, { sub: 'admin' }))}.${s as string}`
  }, 401, 'GK_TOKEN_INVALID'],
  ['a repeated member name in the payload (RFC 8725 §3.2)', async (f) =>
    rawSign(f, { alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, Buffer.from(JSON.stringify(claims(f, RESOURCE)).replace('{', '{"sub":"admin",'))), 401, 'GK_TOKEN_INVALID'],
  ['a payload that is not UTF-8, correctly signed', async (f) =>
    rawSign(f, { alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, Buffer.concat([Buffer.from(JSON.stringify(claims(f, RESOURCE)).slice(0, -1)), Buffer.from(',"n":"\xff\xfe"}', 'latin1')])), 401, 'GK_TOKEN_INVALID'],
  ['the signature spelled another way: a last character whose unused bits are set (non-canonical base64url)', async (f) => {
    const token = await f.sign(claims(f, RESOURCE))
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    // An ES256 signature is 64 bytes: 86 characters, the last carrying 2 bits and 4 unused ones.
    const last = alphabet.indexOf(token.at(-1) as string)
    return token.slice(0, -1) + (alphabet[last | 0x01] as string)
  }, 401, 'GK_TOKEN_INVALID'],
  ['a padded signature (=)', async (f) => `${await f.sign(claims(f, RESOURCE))}==`, 401, 'GK_TOKEN_INVALID'],
  ['a JWE (five parts)', async () => `${b64({ alg: 'dir', enc: 'A256GCM' })}.${'a'.repeat(10)}.${'b'.repeat(16)}.${'c'.repeat(20)}.${'d'.repeat(22)}`, 401, 'GK_TOKEN_INVALID'],
  ['garbage with dots', async () => 'not.a.token', 401, 'GK_TOKEN_INVALID'],
  ['characters outside the b64token syntax', async () => 'abc.def.ghi!', 400, 'GK_INVALID_REQUEST'],
  ['a token of 9000 characters', async () => 'a'.repeat(4000) + '.' + 'b'.repeat(4000) + '.' + 'c'.repeat(999), 400, 'GK_INVALID_REQUEST']
]

for (const [name, make, status, code] of ROWS) {
  t.test(`${name} → ${status}${code === undefined ? '' : ` ${code}`}`, async (t) => {
    const { fake, attacker, app } = await setup(t)
    const token = remember(await make(fake, attacker))
    const res = await app.inject({ url: '/me', headers: bearer(token) })
    t.equal(res.statusCode, status, res.body)
    if (code !== undefined) t.equal(res.json().code, code)
    if (status === 401) {
      t.match(res.headers['www-authenticate'], /resource_metadata="https:\/\/api\.test\/\.well-known\/oauth-protected-resource\/mcp"/)
    }
    // Nothing is ever fetched from a URL a token names, nor from an issuer nobody configured.
    t.equal([...attacker.hits.values()].reduce((a, b) => a + b, 0), 0, 'no request reached the attacker')
    // The same answer a second time, from the cache for the accepted ones.
    const again = await app.inject({ url: '/me', headers: bearer(token) })
    t.equal(again.statusCode, status)
  })
}

t.test('an ID token is refused by its claims even where typ is not required', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, requireTyp: false }] })
  t.teardown(() => app.close())
  for (const extra of [{ nonce: 'n' }, { at_hash: 'h' }, { c_hash: 'h' }]) {
    const res = await app.inject({ url: '/me', headers: bearer(await fake.sign({ ...claims(fake, RESOURCE), ...extra }, { typ: 'JWT' })) })
    t.equal(res.statusCode, 401, Object.keys(extra)[0])
  }
  const plain = await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE), { typ: 'JWT' })) })
  t.equal(plain.statusCode, 200, 'a JWT-typed access token passes when typ is relaxed')
})

t.test('a flood of 1,000 random kids causes at most one fetch of the keys per cooldown', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const c = clock()
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }], jwks: { cooldown: '30s' } }, { now: c.now })
  t.teardown(() => app.close())
  await app.ready()
  const before = fake.hits.get('/jwks') ?? 0
  t.equal(before, 1, 'the keys were fetched once at start-up')
  c.advance(31_000)
  const tokens = await Promise.all(Array.from({ length: 1000 }, async (_, i) => await fake.sign(claims(fake, RESOURCE), { header: { kid: `random-${i}-${Math.random()}` } })))
  const answers = await Promise.all(tokens.map(async (token) => (await app.inject({ url: '/me', headers: bearer(token) })).statusCode))
  t.same(new Set(answers), new Set([401]))
  t.equal((fake.hits.get('/jwks') ?? 0) - before, 1, 'one fetch for the whole flood')
  // Still within the cooldown: more unknown kids fetch nothing; a valid token still passes.
  for (let i = 0; i < 50; i++) await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE), { header: { kid: `again-${i}` } })) })
  t.equal((fake.hits.get('/jwks') ?? 0) - before, 1)
  t.equal((await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE))) })).statusCode, 200)
  // After the cooldown, one more fetch at most.
  c.advance(31_000)
  await Promise.all(Array.from({ length: 100 }, async (_, i) => await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE), { header: { kid: `later-${i}` } })) })))
  t.equal((fake.hits.get('/jwks') ?? 0) - before, 2)
})

t.test('the provider down: cached keys keep serving for a bounded time, then 503; no keys at all is 503, never let in', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const c = clock()
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }], jwks: { maxStale: '1h', cooldown: '30s' } }, { now: c.now })
  t.teardown(() => app.close())
  await app.ready()
  fake.jwksMode = 'down'
  c.advance(11 * 60_000) // past the default freshness (10 min without Cache-Control)
  const fresh = async (): Promise<number> => (await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE, { iat: nowS(c.now()), exp: nowS(c.now()) + 600 }))) })).statusCode
  t.equal(await fresh(), 200, 'stale keys serve while the provider is down')
  c.advance(60 * 60_000)
  const res = await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE, { iat: nowS(c.now()), exp: nowS(c.now()) + 600 }))) })
  t.equal(res.statusCode, 503, 'past maxStale nothing verifies')
  t.equal(res.json().code, 'GK_PROVIDER_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '30')
  fake.jwksMode = 'ok'
  c.advance(31_000)
  t.equal(await fresh(), 200, 'back once the provider answers')
})

for (const mode of ['down', 'error', 'garbage', 'not-a-set', 'huge', 'redirect'] as const) {
  t.test(`no keys yet and the key set ${mode === 'huge' ? 'oversized (200 kB)' : mode}: 503 GK_PROVIDER_UNAVAILABLE`, async (t) => {
    const fake = await startFakeIssuer()
    t.teardown(fake.close)
    fake.jwksMode = mode
    const app = await resourceApp({ issuers: [{ issuer: fake.issuer }], jwks: { timeout: '2s' } })
    t.teardown(() => app.close())
    await app.ready()
    const res = await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE))) })
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'GK_PROVIDER_UNAVAILABLE')
    t.notOk(res.body.includes('eyJ'), 'no token in the answer')
    if (mode === 'redirect') t.equal(fake.hits.get('/elsewhere') ?? 0, 0, 'the redirect was not followed')
  })
}

t.test('a slow key set times out (jwks.timeout) and answers 503', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  fake.jwksMode = 'slow'
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }], jwks: { timeout: '300ms' } })
  t.teardown(() => app.close())
  await app.ready()
  const started = Date.now()
  const res = await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE))) })
  t.equal(res.statusCode, 503)
  t.ok(Date.now() - started < 2500, 'the request did not wait for the slow provider')
})

t.test('a symmetric algorithm is refused for an issuer with published keys, and accepted only with its shared secret', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const secret = createHash('sha256').update('shared').digest('hex')
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, secret, algorithms: ['HS256'] }] })
  t.teardown(() => app.close())
  const hs = async (key: string): Promise<string> => await new SignJWT(claims(fake, RESOURCE) as JWTPayload).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode(key))
  t.equal((await app.inject({ url: '/me', headers: bearer(await hs(secret)) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(await hs(`${secret}x`)) })).statusCode, 401)
  t.equal((await app.inject({ url: '/me', headers: bearer(await fake.sign(claims(fake, RESOURCE))) })).statusCode, 401, 'an ES256 token is not accepted for an HS256 issuer')
  t.equal(fake.hits.get('/jwks') ?? 0, 0, 'an issuer with a secret fetches no keys')
})

t.test('a token without kid is tried against each key of its type in the set: the right one verifies it, no other does', async (t) => {
  const fake = await startFakeIssuer({ keys: [await fakeKey('k1'), await fakeKey('k2')] })
  t.teardown(fake.close)
  const attacker = await fakeKey('k3')
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer }] })
  t.teardown(() => app.close())
  const second = await fake.sign(claims(fake, RESOURCE), { key: fake.keys[1], header: { kid: undefined } })
  t.equal((await app.inject({ url: '/me', headers: bearer(second) })).statusCode, 200)
  const forged = await fake.sign(claims(fake, RESOURCE), { key: attacker, header: { kid: undefined } })
  t.equal((await app.inject({ url: '/me', headers: bearer(forged) })).statusCode, 401)
})

t.test('introspection failures are logged and audited without the token or the client secret', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const clientSecret = remember(`introspection-secret-${Math.random().toString(36).slice(2)}`)
  fake.introspection = (token) => ({ status: 500, body: { error: 'server_error', error_description: `could not check ${token}` } })
  const app = await resourceApp({ issuers: [{ issuer: fake.issuer, introspection: { clientId: 'api', clientSecret } }] })
  t.teardown(() => app.close())
  const token = remember(`opaque-${Math.random().toString(36).slice(2)}-0123456789`)
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 503)
  t.notOk(res.body.includes(token))
  t.ok(auditEvents.some((e) => (e as { type?: string }).type === 'resource.provider_unavailable'), 'the outage is an audit event')
})

auditSweep(t)
