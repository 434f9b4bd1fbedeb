import type { FlattenedJWSInput } from 'jose'
import t from 'tap'
import { ProviderUnavailable, RemoteKeys } from '../../lib/resource-server/keys.js'
import type { JwksSettings } from '../../lib/resource-server/options.js'
import { fakeKey, type FakeKey } from './fake-issuer.js'

const SETTINGS: JwksSettings = { cooldownMs: 30_000, timeoutMs: 1000, maxBytes: 65_536, minAgeMs: 60_000, maxAgeMs: 3_600_000, defaultAgeMs: 600_000, maxStaleMs: 3_600_000 }
const TOKEN = { payload: '', signature: '' } as FlattenedJWSInput

/** A key set over a fake fetch the test controls: its answers, its headers, a count of calls. */
function keySet (keys: FakeKey[], settings: Partial<JwksSettings> = {}): {
  set: RemoteKeys, calls: () => number, now: { t: number }, answer: { status: number, cacheControl: string | null, keys: FakeKey[], fail: boolean }, changes: Array<[string[], string[]]>, failures: unknown[]
} {
  const now = { t: 1_000_000 }
  let calls = 0
  const answer = { status: 200, cacheControl: null as string | null, keys, fail: false }
  const changes: Array<[string[], string[]]> = []
  const failures: unknown[] = []
  const set = new RemoteKeys({
    jwksUri: new URL('https://idp.test/jwks'),
    settings: { ...SETTINGS, ...settings },
    now: () => now.t,
    fetch: async () => {
      calls++
      if (answer.fail) throw new TypeError('fetch failed')
      return new Response(JSON.stringify({ keys: answer.keys.map((k) => k.publicJwk) }), { status: answer.status, headers: answer.cacheControl === null ? {} : { 'cache-control': answer.cacheControl } })
    },
    events: {
      changed: (kids, before) => { changes.push([[...kids].map(String), [...before].map(String)]) },
      failed: (err) => { failures.push(err) }
    }
  })
  return { set, calls: () => calls, now, answer, changes, failures }
}

const header = (k: FakeKey, kid = k.kid): { alg: string, kid: string } => ({ alg: k.alg, kid })

t.test('the first use fetches once, however many requests wait for it', async (t) => {
  const k1 = await fakeKey('k1')
  const { set, calls, changes } = keySet([k1])
  const keys = await Promise.all(Array.from({ length: 20 }, async () => await set.getKey(header(k1), TOKEN)))
  t.equal(keys.length, 20)
  t.equal(calls(), 1)
  t.same(changes, [[['k1'], []]])
  t.equal(set.loaded, true)
})

t.test('Cache-Control max-age sets the freshness, within minAge and maxAge; without it the default applies', async (t) => {
  const k1 = await fakeKey('k1')
  const rows: Array<[string | null, number]> = [['max-age=120', 120_000], ['max-age=1', 60_000], ['max-age=86400', 3_600_000], ['no-store', 60_000], [null, 600_000]]
  for (const [cacheControl, freshMs] of rows) {
    const { set, calls, now, answer } = keySet([k1])
    answer.cacheControl = cacheControl
    await set.getKey(header(k1), TOKEN)
    t.equal(set.staleAt - now.t, freshMs, `${cacheControl ?? 'no header'}: fresh for ${freshMs} ms`)
    now.t += freshMs - 1
    await set.getKey(header(k1), TOKEN)
    t.equal(calls(), 1, 'no fetch while fresh')
    now.t += 1
    await set.getKey(header(k1), TOKEN)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(calls(), 2, 'a stale set is refreshed behind the request')
  }
})

t.test('an unknown kid fetches once per cooldown; the provider failing fetches no more often', async (t) => {
  const k1 = await fakeKey('k1')
  const k2 = await fakeKey('k2')
  const { set, calls, now, answer, failures } = keySet([k1])
  await set.getKey(header(k1), TOKEN)
  now.t += 30_000
  answer.keys = [k2, k1]
  t.ok(await set.getKey(header(k2), TOKEN), 'a rotated key is found after one fetch')
  t.equal(calls(), 2)
  await t.rejects(set.getKey(header(k1, 'unknown'), TOKEN), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  t.equal(calls(), 2, 'within the cooldown: no fetch')
  now.t += 30_000
  answer.fail = true
  await t.rejects(set.getKey(header(k1, 'unknown'), TOKEN), ProviderUnavailable, 'the refetch failed: the token cannot be judged now')
  t.equal(calls(), 4, 'one attempt (retried once on a new connection)')
  t.equal(failures.length, 1)
  await t.rejects(set.getKey(header(k1, 'other'), TOKEN), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  t.equal(calls(), 4, 'a failure counts for the cooldown too')
  t.ok(await set.getKey(header(k1), TOKEN), 'known keys still verify')
})

t.test('without any keys, a failing provider is retried at most once per cooldown, and never lets in', async (t) => {
  const k1 = await fakeKey('k1')
  const { set, calls, now, answer } = keySet([k1])
  answer.status = 500
  await t.rejects(set.getKey(header(k1), TOKEN), ProviderUnavailable)
  const after = calls()
  for (let i = 0; i < 10; i++) await t.rejects(set.getKey(header(k1), TOKEN), ProviderUnavailable)
  t.equal(calls(), after, 'no fetch within the cooldown')
  answer.status = 200
  now.t += 30_000
  t.ok(await set.getKey(header(k1), TOKEN))
})

t.test('stale keys serve while the provider is down, up to maxStale, then nothing verifies until it answers', async (t) => {
  const k1 = await fakeKey('k1')
  const { set, now, answer, failures } = keySet([k1], { maxStaleMs: 600_000 })
  await set.getKey(header(k1), TOKEN)
  answer.fail = true
  now.t += 600_000 + 1
  t.ok(await set.getKey(header(k1), TOKEN), 'stale, within maxStale')
  while (failures.length === 0) await new Promise((resolve) => setImmediate(resolve))
  now.t += 600_000
  await t.rejects(set.getKey(header(k1), TOKEN), ProviderUnavailable, 'past maxStale')
  answer.fail = false
  await t.rejects(set.getKey(header(k1), TOKEN), ProviderUnavailable, 'within the cooldown of the failed attempt')
  now.t += 30_000
  t.ok(await set.getKey(header(k1), TOKEN), 'a fresh set once the provider answers')
})

t.test('refreshIfStale refreshes a stale set behind a cached token\'s use, and reload() merges with a fetch in flight', async (t) => {
  const k1 = await fakeKey('k1')
  const { set, calls, now } = keySet([k1])
  set.refreshIfStale()
  t.equal(calls(), 0, 'nothing to refresh before the first fetch')
  await Promise.all([set.reload(), set.reload(), set.reload()])
  t.equal(calls(), 1)
  set.refreshIfStale()
  t.equal(calls(), 1, 'fresh: nothing')
  now.t += 600_000
  set.refreshIfStale()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(calls(), 2)
  t.equal(set.fetches, 2)
})
