import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import t, { type Test } from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt, JWKS_MAX_AGE, type JwtKey, type JwtOptions } from '../../lib/jwt/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

// The rotation of docs/jwt.md, run against verifiers that cache the JWKS:
// jose's createRemoteJWKSet with its defaults (a set kept up to 10 minutes,
// refetched on an unknown kid at most every 30 s) and a strict cache that
// honours Cache-Control max-age and never refetches early. jose keeps time
// with Date.now, so the test moves a fake clock instead of waiting.

const ISSUER = 'https://api.example'
const AUDIENCE = 'api'

function key (kid: string): { signing: JwtKey, verifyOnly: JwtKey } {
  const pair = generateKeyPairSync('ed25519')
  return {
    signing: { kid, algorithm: 'EdDSA', privateKey: pair.privateKey, publicKey: pair.publicKey },
    verifyOnly: { kid, algorithm: 'EdDSA', publicKey: pair.publicKey }
  }
}

/** One JWKS URL in front of whichever deployment is current, as a load balancer would be. */
interface Deployment {
  deploy (opts: Pick<JwtOptions, 'keys' | 'nextKeys'>): Promise<FastifyInstance>
  url: string
  fetches: number
}

async function deployment (t: Test, clock: { now: number }): Promise<Deployment> {
  let current: FastifyInstance | null = null
  const apps: FastifyInstance[] = []
  const d: Deployment = {
    url: '',
    fetches: 0,
    async deploy (opts) {
      const app = Fastify()
      await app.register(gatekeeper, { store: memoryStore(), now: () => clock.now, audit: { log: false } })
      await app.register(jwt, { ...opts, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '15m' })
      await app.ready()
      apps.push(app)
      current = app
      return app
    }
  }
  const server: Server = createServer((req, res) => {
    d.fetches++
    current?.routing(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  d.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
  t.teardown(async () => {
    server.closeAllConnections()
    server.close()
    for (const app of apps) await app.close()
  })
  return d
}

/** A verifier that caches the JWKS exactly as long as Cache-Control max-age says, and never refetches before. */
function strictCache (url: string, clock: { now: number }): JWTVerifyGetKey {
  let until = -Infinity
  let local: JWTVerifyGetKey | null = null
  return async (header, token) => {
    if (local === null || clock.now >= until) {
      const res = await fetch(url)
      const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1] ?? 0)
      local = createLocalJWKSet(await res.json() as JSONWebKeySet)
      until = clock.now + maxAge * 1000
    }
    return await local(header, token)
  }
}

const kidOf = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid

/** Fakes Date.now for jose's cache for the rest of the test. */
function fakeClock (t: Test): { now: number } {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const real = Date.now
  Date.now = () => clock.now
  t.teardown(() => { Date.now = real })
  return clock
}

t.test('the documented rotation (publish, wait past max-age, sign, retire) never fails a jose or a strict caching verifier', async (t) => {
  const clock = fakeClock(t)
  const d = await deployment(t, clock)
  const a = key('2030-a')
  const b = key('2030-b')
  const verifiers: Record<string, JWTVerifyGetKey> = { 'jose (defaults)': createRemoteJWKSet(new URL(d.url)), 'strict max-age cache': strictCache(d.url, clock) }
  const failures: string[] = []
  let checks = 0
  async function verifyAll (step: string, tokens: Record<string, string>): Promise<void> {
    for (const [name, getKey] of Object.entries(verifiers)) {
      for (const [label, token] of Object.entries(tokens)) {
        checks++
        try {
          await jwtVerify(token, getKey, { typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'], currentDate: new Date(clock.now) })
        } catch (err) {
          failures.push(`${step}: ${name} refused ${label}: ${(err as { code?: string }).code ?? String(err)}`)
        }
      }
    }
  }
  const issue = async (app: FastifyInstance): Promise<string> => (await app.gatekeeper.tokens.issue({ id: 'alice', roles: [] })).accessToken

  // Before: one key. Both verifiers fetch the JWKS now, one second before the publication.
  const before = await d.deploy({ keys: [a.signing] })
  const tokenA = await issue(before)
  await verifyAll('before', { 'a token of a': tokenA })
  clock.now += 1000

  // 1. Publish b ahead of use.
  const published = await d.deploy({ keys: [a.signing], nextKeys: [b.verifyOnly] })
  const res = await published.inject('/.well-known/jwks.json')
  t.equal(res.headers['cache-control'], `public, max-age=${JWKS_MAX_AGE}`, 'the JWKS states how long it may be cached')
  t.same(res.json().keys.map((k: { kid: string }) => k.kid), ['2030-a', '2030-b'], 'step 1: the JWKS lists the next key')
  const tokenA2 = await issue(published)
  t.equal(kidOf(tokenA2), '2030-a', 'step 1: tokens are still signed with a')
  await verifyAll('published', { 'a token of a': tokenA, 'a new token of a': tokenA2 })

  // 2. Wait longer than the max-age, verifying along the way.
  for (let waited = 0; waited <= JWKS_MAX_AGE; waited += 60) {
    clock.now += 60_000
    await verifyAll(`waiting (${waited + 60} s)`, { 'a token of a': tokenA2 })
  }

  // 3. Sign with b; a verifies what it signed. Roll out one instance at a time.
  const signing = await d.deploy({ keys: [b.signing, a.verifyOnly] })
  const tokenB = await issue(signing)
  t.equal(kidOf(tokenB), '2030-b', 'step 3: tokens are signed with b')
  await verifyAll('signing with b', { 'a token of a': tokenA2, 'a token of b': tokenB })
  t.match(await published.gatekeeper.tokens.verify(tokenB), { sub: 'alice' }, 'mid-rollout: an instance still at step 1 accepts the tokens of b')
  t.match(await signing.gatekeeper.tokens.verify(tokenA2), { sub: 'alice' }, 'mid-rollout: an instance at step 3 accepts the tokens of a')

  // 4. After the longest token lifetime (15 min + 5 s tolerance), retire a.
  clock.now += 906_000
  const lastOfStep3 = await issue(signing)
  const retired = await d.deploy({ keys: [b.signing] })
  const tokenB2 = await issue(retired)
  await verifyAll('retired a', { 'a token of b from step 3': lastOfStep3, 'a new token of b': tokenB2 })
  t.same((await retired.inject('/.well-known/jwks.json')).json().keys.map((k: { kid: string }) => k.kid), ['2030-b'], 'step 4: a is gone from the JWKS')
  await t.rejects(retired.gatekeeper.tokens.verify(tokenA2), { code: 'GK_TOKEN_INVALID' }, 'a token of a is refused (it had expired by then anyway)')

  t.same(failures, [], `no verifier refused a valid token at any step (${checks} verifications)`)
  t.ok(d.fetches >= 3, `the verifiers fetched the JWKS ${d.fetches} times`)
})

t.test('without pre-publication, signing with a new key at once fails a jose verifier that fetched the JWKS moments before', async (t) => {
  const clock = fakeClock(t)
  const d = await deployment(t, clock)
  const a = key('2030-a')
  const b = key('2030-b')
  const jwks = createRemoteJWKSet(new URL(d.url))
  const opts = { typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] }
  const first = await d.deploy({ keys: [a.signing] })
  await jwtVerify((await first.gatekeeper.tokens.issue({ id: 'alice', roles: [] })).accessToken, jwks, { ...opts, currentDate: new Date(clock.now) })
  clock.now += 10_000
  // The procedure of earlier releases: the new key first, in one step.
  const second = await d.deploy({ keys: [b.signing, a.verifyOnly] })
  const tokenB = (await second.gatekeeper.tokens.issue({ id: 'alice', roles: [] })).accessToken
  await t.rejects(jwtVerify(tokenB, jwks, { ...opts, currentDate: new Date(clock.now) }), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'inside the 30 s cooldown the new kid is unknown')
})

t.test('nextKeys is validated at registration', async (t) => {
  const a = key('a')
  const rows: Array<[string, Partial<JwtOptions>, RegExp]> = [
    ['with a secret', { secret: 's'.repeat(32), nextKeys: [a.verifyOnly] }, /nextKeys needs keys/],
    ['empty', { keys: [a.signing], nextKeys: [] }, /nextKeys must be a non-empty array/],
    ['a kid of keys again', { keys: [a.signing], nextKeys: [a.verifyOnly] }, /nextKeys\[0\]\.kid 'a' is used twice/],
    ['an unknown algorithm', { keys: [a.signing], nextKeys: [{ ...key('b').verifyOnly, algorithm: 'HS256' as never }] }, /nextKeys\[0\]\.algorithm must be one of/],
    ['no public key', { keys: [a.signing], nextKeys: [{ kid: 'b', algorithm: 'EdDSA' } as never] }, /nextKeys\[0\]\.publicKey is required/]
  ]
  for (const [name, opts, message] of rows) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await t.rejects(async () => { await app.register(jwt, { issuer: ISSUER, audience: AUDIENCE, ...opts } as JwtOptions) }, { code: 'GK_CONFIG', message }, name)
  }
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore() })
  const b = key('b')
  await app.register(jwt, { issuer: ISSUER, audience: AUDIENCE, keys: [a.signing], nextKeys: [b.signing] })
  const token = (await app.gatekeeper.tokens.issue({ id: 'alice', roles: [] })).accessToken
  t.equal(kidOf(token), 'a', 'a next key never signs, even with its private key given')
  await app.close()
})
