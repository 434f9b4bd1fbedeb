import t from 'tap'
import { isInsufficientScope, parseChallenges, withBearerParams } from '../../lib/resource-server/challenge.js'
import { boundedFetch, maxAgeOf, ResponseTooLarge } from '../../lib/resource-server/fetch.js'
import { metadataPaths, metadataUrl } from '../../lib/resource-server/metadata.js'
import { genericMapping, looksLikeIdToken, scopesOf } from '../../lib/resource-server/presets.js'
import { Throttle, causeOf } from '../../lib/resource-server/events.js'
import { checkIntrospected, isCanonicalJws, peekIssuer } from '../../lib/resource-server/verify.js'
import { normalizeOptions } from '../../lib/resource-server/options.js'

const RM = ['resource_metadata', 'https://api.test/.well-known/oauth-protected-resource'] as const

t.test('challenges: parameters go into the Bearer challenge, whatever else the header holds', async (t) => {
  const rows: Array<[string, string]> = [
    ['Bearer realm="api"', 'Bearer realm="api", resource_metadata="https://api.test/.well-known/oauth-protected-resource"'],
    ['Bearer realm="api", error="invalid_token"', 'Bearer realm="api", error="invalid_token", resource_metadata="https://api.test/.well-known/oauth-protected-resource"'],
    ['Bearer realm="api", ApiKey realm="api"', 'Bearer realm="api", resource_metadata="https://api.test/.well-known/oauth-protected-resource", ApiKey realm="api"'],
    ['ApiKey realm="api", Bearer realm="api"', 'ApiKey realm="api", Bearer realm="api", resource_metadata="https://api.test/.well-known/oauth-protected-resource"'],
    ['Bearer realm="a, b", error_description="x, \\"y\\""', 'Bearer realm="a, b", error_description="x, \\"y\\"", resource_metadata="https://api.test/.well-known/oauth-protected-resource"'],
    ['Bearer', 'Bearer resource_metadata="https://api.test/.well-known/oauth-protected-resource"'],
    ['Bearer realm="api", resource_metadata="https://elsewhere"', 'Bearer realm="api", resource_metadata="https://elsewhere"'],
    ['', 'Bearer realm="api", resource_metadata="https://api.test/.well-known/oauth-protected-resource"'],
    ['ApiKey realm="api"', 'ApiKey realm="api", Bearer realm="api", resource_metadata="https://api.test/.well-known/oauth-protected-resource"']
  ]
  for (const [header, expected] of rows) t.equal(withBearerParams(header, [RM], { realm: 'api' }), expected, header)
  t.equal(withBearerParams('ApiKey realm="api"', [RM], null), 'ApiKey realm="api"', 'no Bearer challenge is added unless asked')
  t.equal(withBearerParams('Bearer realm="api"', [['scope', 'a "b"']], null), 'Bearer realm="api", scope="a \\"b\\""', 'values are quoted and escaped')
  t.same(parseChallenges('Basic abc==, Bearer realm="x"'), [{ scheme: 'Basic', params: ['abc=='] }, { scheme: 'Bearer', params: ['realm="x"'] }])
  t.equal(isInsufficientScope('Bearer realm="api", error="insufficient_scope"'), true)
  t.equal(isInsufficientScope('Bearer realm="api", error="invalid_token"'), false)
  t.equal(isInsufficientScope('ApiKey realm="api", error="insufficient_scope"'), false)
  t.equal(isInsufficientScope(''), false)
})

t.test('Cache-Control: max-age is read, no-store and no-cache grant nothing', async (t) => {
  t.equal(maxAgeOf(null), null)
  t.equal(maxAgeOf('public, max-age=300'), 300_000)
  t.equal(maxAgeOf('max-age="60", must-revalidate'), 60_000)
  t.equal(maxAgeOf('no-store'), 0)
  t.equal(maxAgeOf('max-age=600, no-cache'), 0)
  t.equal(maxAgeOf('max-age=-1'), null)
  t.equal(maxAgeOf('private'), null)
})

t.test('bounded fetch: size limit (declared or streamed), no redirects, one retry of a GET on a failed connection', async (t) => {
  const seen: RequestInit[] = []
  const answer = (body: ConstructorParameters<typeof Response>[0], init: ResponseInit = {}) => async (_url: string | URL, req?: RequestInit): Promise<Response> => { seen.push(req ?? {}); return new Response(body, init) }
  await t.rejects(boundedFetch(answer('x'.repeat(2000)), 1024, 1000)('https://x'), ResponseTooLarge, 'a body over the bound')
  await t.rejects(boundedFetch(answer('x', { headers: { 'content-length': '5000' } }), 1024, 1000)('https://x'), ResponseTooLarge, 'a declared length over the bound')
  const stream = new ReadableStream({ start (c) { for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(200)); c.close() } })
  await t.rejects(boundedFetch(answer(stream), 1024, 1000)('https://x'), ResponseTooLarge, 'a streamed body over the bound')
  const ok = await boundedFetch(answer('{"a":1}', { status: 200, headers: { 'cache-control': 'max-age=5' } }), 1024, 1000)('https://x')
  t.same(await ok.json(), { a: 1 })
  t.equal(ok.headers.get('cache-control'), 'max-age=5')
  t.equal(seen.at(-1)?.redirect, 'manual', 'redirects are never followed')
  t.ok(seen.at(-1)?.signal instanceof AbortSignal, 'every request has a timeout')
  let calls = 0
  const flaky = async (): Promise<Response> => { if (++calls === 1) throw new TypeError('fetch failed'); return new Response('ok') }
  t.equal(await (await boundedFetch(flaky, 1024, 1000)('https://x')).text(), 'ok')
  t.equal(calls, 2)
  calls = 0
  await t.rejects(boundedFetch(flaky, 1024, 1000)('https://x', { method: 'POST' }), /fetch failed/, 'a POST is not retried')
  const empty = await boundedFetch(answer(null, { status: 204 }), 1024, 1000)('https://x')
  t.equal(empty.status, 204)
})

t.test('RFC 9728 paths and URL', async (t) => {
  t.same(metadataPaths(new URL('https://api.test')), ['/.well-known/oauth-protected-resource'])
  t.same(metadataPaths(new URL('https://api.test/')), ['/.well-known/oauth-protected-resource'])
  t.same(metadataPaths(new URL('https://api.test/mcp')), ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'])
  t.same(metadataPaths(new URL('https://api.test/v1/mcp/')), ['/.well-known/oauth-protected-resource/v1/mcp', '/.well-known/oauth-protected-resource'])
  t.equal(metadataUrl(new URL('https://api.test:8443/mcp')), 'https://api.test:8443/.well-known/oauth-protected-resource/mcp')
})

t.test('claims: scopes from scope or scp, the generic reading, ID-token-only claims', async (t) => {
  t.same(scopesOf({ scope: 'a b  a' }), ['a', 'b'])
  t.same(scopesOf({ scp: ['a', 'b', 3] }), ['a', 'b'])
  t.same(scopesOf({ scp: 'x y' }), ['x', 'y'])
  t.same(scopesOf({}), [])
  t.match(genericMapping({ sub: 'svc', client_id: 'svc', scope: 's' }), { kind: 'application', subject: 'svc', clientId: 'svc', scopes: ['s'] })
  t.match(genericMapping({ client_id: 'svc' }), { kind: 'application', subject: 'svc' })
  t.match(genericMapping({ sub: 'u', azp: 'web', roles: ['a', 5] }), { kind: 'user', subject: 'u', clientId: 'web', roles: ['a'] })
  t.equal(looksLikeIdToken({ nonce: 'n' }), true)
  t.equal(looksLikeIdToken({ sub: 'x' }), false)
})

t.test('peeking the issuer never throws', async (t) => {
  const enc = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
  t.equal(peekIssuer(`${enc({})}.${enc({ iss: 'https://a' })}.x`), 'https://a')
  t.equal(peekIssuer(`${enc({})}.${enc({ iss: ['https://a'] })}.x`), null)
  t.equal(peekIssuer(`${enc({})}.${enc('not json')}.x`), null)
  t.equal(peekIssuer(`${enc({})}.${enc('null')}.x`), null)
  t.equal(peekIssuer('abc'), null)
})

t.test('an introspection answer is checked like a token', async (t) => {
  const issuer = normalizeOptions({ resource: 'https://api.test', issuers: [{ issuer: 'https://idp.test', jwksUri: 'https://idp.test/jwks' }] }).issuers[0] as Parameters<typeof checkIntrospected>[1]
  const now = Date.now()
  const s = Math.floor(now / 1000)
  const good = { active: true, iss: 'https://idp.test', aud: 'https://api.test', exp: s + 60, sub: 'u' }
  t.doesNotThrow(() => { checkIntrospected(good, issuer, now) })
  t.doesNotThrow(() => { checkIntrospected({ ...good, iss: undefined, aud: ['x', 'https://api.test'], token_type: 'Bearer' }, issuer, now) })
  const rows: Array<[string, Record<string, unknown>, string]> = [
    ['another issuer', { iss: 'https://evil.test' }, 'GK_TOKEN_INVALID'],
    ['no audience', { aud: undefined }, 'GK_TOKEN_INVALID'],
    ['another audience', { aud: 'https://other.test' }, 'GK_TOKEN_INVALID'],
    ['expired', { exp: s - 60 }, 'GK_TOKEN_EXPIRED'],
    ['exp not a number', { exp: 'soon' }, 'GK_TOKEN_INVALID'],
    ['not yet valid', { nbf: s + 60 }, 'GK_TOKEN_INVALID'],
    ['a refresh token', { token_type: 'refresh_token' }, 'GK_TOKEN_INVALID'],
    ['a DPoP-bound token', { token_type: 'DPoP' }, 'GK_TOKEN_INVALID']
  ]
  for (const [name, change, code] of rows) t.throws(() => { checkIntrospected({ ...good, ...change }, issuer, now) }, { code }, name)
})

t.test('failure events are throttled per key; causes are short and secret-free', async (t) => {
  let now = 0
  const th = new Throttle(() => now, 1000)
  t.equal(th.allow('a'), true)
  t.equal(th.allow('a'), false)
  t.equal(th.allow('b'), true)
  now = 1000
  t.equal(th.allow('a'), true)
  t.equal(causeOf(new Error('outer', { cause: new TypeError('fetch failed') })), 'TypeError: fetch failed')
  t.equal(causeOf('x'.repeat(500)).length, 200)
})

t.test('canonical base64url: every segment, unused bits zero, no padding, no other alphabet', async (t) => {
  t.equal(isCanonicalJws('eyJ0.eyJ0.AA'), true)
  t.equal(isCanonicalJws('eyJ0.eyJ0.AB'), false, 'low bits set after 2 characters')
  t.equal(isCanonicalJws('eyJ0.eyJ0.AAA'), true)
  t.equal(isCanonicalJws('eyJ0.eyJ0.AAB'), false, 'low bits set after 3 characters')
  t.equal(isCanonicalJws('eyJ0.eyJ0.A'), false, 'a length that is 1 modulo 4')
  t.equal(isCanonicalJws('eyJ0.eyJ0.AA=='), false, 'padding')
  t.equal(isCanonicalJws('ey+0.eyJ0.AA'), false, 'base64, not base64url')
  t.equal(isCanonicalJws('eyJ0.eyJ0.'), true, 'an empty signature is canonical (alg none is refused elsewhere)')
  t.equal(isCanonicalJws('eyJ0.eyJ0.\u00e9A'), false)
})
