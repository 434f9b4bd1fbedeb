import { createHash } from 'node:crypto'
import t from 'tap'
import { BASE62, checksumOf, crc32 } from '../../lib/api-key/format.js'
import { auditSweep, createUser, remember, runRows, securityApp, type Row } from './helpers.js'

const { app, clock, store } = await securityApp({ apiKey: {}, rbac: false })
t.teardown(() => app.close())
const alice = await createUser(app, 'alice')
const mallory = await createUser(app, 'mallory')
const keys = app.gatekeeper.apiKeys
const genuine = remember((await keys.create({ ownerId: alice, name: 'ci' })).key)
const revoked = await keys.create({ ownerId: alice, name: 'old' })
remember(revoked.key)
const expiring = remember((await keys.create({ ownerId: alice, name: 'short', expiresIn: '1h' })).key)
const orphan = remember((await keys.create({ ownerId: mallory, name: 'mallory' })).key)
// Each used once so they sit in the verified-key cache: revocation, expiry and disabling must beat the cache.
for (const k of [revoked.key, expiring, orphan]) {
  t.equal((await app.inject({ url: '/me', headers: { 'x-api-key': k } })).statusCode, 200, 'a key works before it is revoked, expired or orphaned')
}
await keys.revoke(revoked.record.id)
await app.gatekeeper.users!.disable(mallory)
clock.now += 2 * 3_600_000

/** A key of the right shape and checksum that was never issued. */
function forgedWellFormed (): string {
  let body = 'gk_'
  for (let i = 0; i < 30; i++) body += BASE62[(i * 7) % 62]
  return body + checksumOf(crc32(body))
}
/** `key` with one character of its random part changed. */
const oneOff = (key: string, at: number): string => key.slice(0, at) + (key[at] === 'a' ? 'b' : 'a') + key.slice(at + 1)

/** `key` with the case of the first letter of its random part flipped (a digit has no case: skip those). */
function flipCase (key: string): string {
  for (let i = key.indexOf('_') + 1; i < key.length; i++) {
    const c = key[i] as string
    const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()
    if (flipped !== c) return key.slice(0, i) + flipped + key.slice(i + 1)
  }
  throw new Error('a key without letters')
}

const refused = (name: string, cite: string, headers: Record<string, string>): Row =>
  ({ name, cite, req: { url: '/me', headers }, status: 401, code: 'GK_TOKEN_INVALID', challenge: 'invalid_token' })

t.test('bad API keys all get one identical 401, never a 500 (table)', async (t) => {
  const rows: Row[] = [
    refused('an unknown key with a valid checksum', 'API2:2023; WSTG-ATHN (one answer for every failure)', { 'x-api-key': forgedWellFormed() }),
    refused('one character of the random part changed', 'checksum (GitHub token format); ASVS 2.10', { 'x-api-key': oneOff(genuine, 10) }),
    refused('one character of the checksum changed', 'checksum', { 'x-api-key': oneOff(genuine, genuine.length - 1) }),
    refused('the case of one character flipped', 'base62 is case-sensitive', { 'x-api-key': flipCase(genuine) }),
    refused('a revoked key (it was cached)', 'ASVS 3.3.1 / 2.10 revocation; API2:2023', { 'x-api-key': revoked.key }),
    refused('an expired key (it was cached)', 'API2:2023 (expiry)', { 'x-api-key': expiring }),
    refused('a key of a disabled owner (it was cached)', 'ASVS 3.3.x; API2:2023', { 'x-api-key': orphan }),
    refused('a truncated key', 'API2:2023', { 'x-api-key': genuine.slice(0, -1) }),
    refused('the key with one character appended', 'API2:2023', { 'x-api-key': `${genuine}a` }),
    refused('only the prefix', 'API2:2023', { 'x-api-key': 'gk_' }),
    refused('an empty header', 'API2:2023', { 'x-api-key': '' }),
    refused('a 10 KB header', 'ASVS 13.1 (bounded input)', { 'x-api-key': `gk_${'a'.repeat(10_000)}` }),
    refused('another prefix', 'API2:2023', { 'x-api-key': `xx${genuine.slice(2)}` }),
    refused('the key with surrounding spaces', 'exact match', { 'x-api-key': ` ${genuine} ` }),
    refused('the hash of the key (as stored) sent as the key', 'CWE-256 (the stored hash is not a credential)', { 'x-api-key': createHash('sha256').update(genuine).digest('hex') }),
    refused('NUL and control characters', 'ASVS 5.1.x', { 'x-api-key': `${genuine.slice(0, 20)}\u0001\u0000${genuine.slice(22)}` }),
    refused('a SQL injection', 'ASVS 5.3.4', { 'x-api-key': "gk_' OR '1'='1" }),
    refused('a bad key as a Bearer token', 'RFC 6750 §2.1', { authorization: `Bearer ${oneOff(genuine, 12)}` }),
    { name: 'a genuine key in the query string is refused, never read', cite: 'ASVS 3.1.1 / 13.1.x (no secrets in URLs); API2:2023', req: { url: `/me?api_key=${genuine}` }, status: 400, code: 'GK_INVALID_REQUEST' },
    { name: 'a genuine key under any query name is refused', cite: 'ASVS 13.1.x', req: { url: `/me?x-api-key=${genuine}` }, status: 400, code: 'GK_INVALID_REQUEST' },
    { name: 'a genuine key inside a longer query value is refused', cite: 'ASVS 13.1.x', req: { url: `/me?q=foo${genuine}bar` }, status: 400, code: 'GK_INVALID_REQUEST' },
    { name: 'a genuine key in the query next to a genuine header is still refused', cite: 'ASVS 13.1.x', req: { url: `/me?key=${genuine}`, headers: { 'x-api-key': genuine } }, status: 400, code: 'GK_INVALID_REQUEST' },
    { name: 'control: the genuine key in x-api-key', cite: 'ASVS 2.10', req: { url: '/me', headers: { 'x-api-key': genuine } }, status: 200 },
    { name: 'control: the genuine key as a Bearer token', cite: 'RFC 6750 §2.1', req: { url: '/me', headers: { authorization: `Bearer ${genuine}` } }, status: 200 }
  ]
  await runRows(t, app, rows)
})

t.test('the store holds only hashes of keys: no plaintext, no random body', async (t) => {
  const issued = [genuine, revoked.key, expiring]
  const records = await store.apiKeys.listByOwner(alice)
  t.equal(records.length, 3)
  const dump = JSON.stringify(records)
  for (const key of issued) {
    t.notOk(dump.includes(key), 'the key is not stored [CWE-256, CWE-257]')
    t.notOk(dump.includes(key.slice(7, 33)), 'nor its secret body')
    const sha = createHash('sha256').update(key).digest('hex')
    t.ok(records.some((r) => r.hash === sha), 'a SHA-256 of it is (no pepper configured)')
    t.ok(records.some((r) => r.start === key.slice(0, 7)), 'and its visible start, 4 random characters')
  }
  const listed = await app.inject({ url: '/api/keys', headers: { 'x-api-key': genuine } })
  t.notOk(listed.body.includes(genuine), 'no management answer repeats a key')
})

t.test('with a pepper the stored hash is an HMAC: a stolen table cannot be checked offline', async (t) => {
  const pepper = remember('pepper-pepper-pepper-pepper-pepper-1234')
  const peppered = await securityApp({ apiKey: { pepper }, rbac: false })
  t.teardown(() => peppered.app.close())
  const owner = await createUser(peppered.app, 'p')
  const key = remember((await peppered.app.gatekeeper.apiKeys.create({ ownerId: owner, name: 'x' })).key)
  const [record] = await peppered.store.apiKeys.listByOwner(owner)
  t.not(record?.hash, createHash('sha256').update(key).digest('hex'), 'not a plain SHA-256')
  t.equal((await peppered.app.inject({ url: '/me', headers: { 'x-api-key': key } })).statusCode, 200)
})

auditSweep(t)
