import fc from 'fast-check'
import t from 'tap'
import { BASE62, checksumOf, crc32 } from '../../lib/api-key/format.js'
import { auditSweep, createUser, remember, securityApp } from './helpers.js'
import { fuzz, headerString, mutate } from './fuzz.js'

// The x-api-key header: typos, truncations, forged checksums, junk (API2:2023; ASVS 2.10, 13.1).
const { app } = await securityApp({ apiKey: {}, rbac: false })
t.teardown(() => app.close())
const id = await createUser(app, 'alice')
const key = remember((await app.gatekeeper.apiKeys.create({ ownerId: id, name: 'fuzz' })).key)
const revoked = await app.gatekeeper.apiKeys.create({ ownerId: id, name: 'revoked' })
remember(revoked.key)
await app.gatekeeper.apiKeys.revoke(revoked.record.id)

const base62 = fc.constantFrom(...BASE62)
/** Keys of the right shape with a correct checksum: they pass the checksum and reach the store. */
const wellFormed = fc.tuple(fc.constantFrom('gk', 'xx', 'g', 'gkk'), fc.string({ unit: base62, minLength: 30, maxLength: 30 }))
  .map(([prefix, body]) => { const head = `${prefix}_${body}`; return head + checksumOf(crc32(head)) })

const value = fc.oneof(
  { weight: 4, arbitrary: mutate(key) },
  { weight: 2, arbitrary: wellFormed },
  { weight: 1, arbitrary: mutate(revoked.key) },
  { weight: 1, arbitrary: fc.constant(revoked.key) },
  { weight: 2, arbitrary: headerString(120) },
  { weight: 1, arbitrary: fc.string({ unit: base62, maxLength: 60 }).map((s) => `gk_${s}`) },
  { weight: 1, arbitrary: fc.constant(key) }
)

t.test('fuzz: x-api-key values [API2:2023; ASVS 13.1]', async (t) => {
  await fuzz(t, app, {
    name: 'x-api-key header',
    arbitrary: value,
    request: (v) => ({ url: '/me', headers: { 'x-api-key': v } }),
    genuine: (v) => v === key
  })
})

auditSweep(t)
