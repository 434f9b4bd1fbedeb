import fc from 'fast-check'
import t from 'tap'
import { normalizeLogin } from '../../lib/stores/types.js'
import { auditSweep, createUser, PASSWORD, securityApp } from './helpers.js'
import { fuzz, headerString, mutate } from './fuzz.js'

// POST /api/login bodies: wrong types, injection operators, prototype keys, broken JSON (ASVS 5.1, 13.1; API8:2023).
// Brute-force protection is off so the genuine credential stays valid through 10,000 failures.
const { app } = await securityApp({ core: { bruteForce: false }, rbac: false })
t.teardown(() => app.close())
await createUser(app, 'alice')
// bob has the same password (and the same stored hash): his credential is genuine too.
await createUser(app, 'bob')

// argon2id costs ~100 ms here, so 10,000 verifications would take a quarter of an hour. This target is about
// parsing and validation, so the two verification calls are replaced by an exact comparison with the same
// contract (NFKC-normalised password, alice's stored hash); argon2 itself is covered by passwords.test.ts.
const aliceHash = (await app.gatekeeper.store.users.findByLogin('alice'))!.passwordHash
const passwords = app.gatekeeper.passwords! as unknown as Record<string, unknown>
passwords.verify = async (hash: string, password: unknown) => hash === aliceHash && typeof password === 'string' && password.normalize('NFKC') === PASSWORD
passwords.dummyVerify = async () => false

const stringish = fc.oneof(fc.string(), headerString(40), fc.constantFrom('alice', 'ALICE', ' alice ', 'ａｌｉｃｅ', 'bob', PASSWORD), mutate(PASSWORD), mutate('alice'))
const anyValue = fc.oneof(stringish, fc.jsonValue({ maxDepth: 3 }), fc.constantFrom({ $ne: null }, { $gt: '' }, ['alice'], null, true, 0, 'a'.repeat(200)))
const loginObject = fc.record({
  username: fc.oneof({ weight: 3, arbitrary: stringish }, { weight: 1, arbitrary: anyValue }),
  password: fc.oneof({ weight: 3, arbitrary: stringish }, { weight: 1, arbitrary: anyValue }),
  extra: anyValue
}, { requiredKeys: [] })
const prototypeKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty')

interface Input { body: string, type: string }
const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 5, arbitrary: loginObject.map((o) => ({ body: JSON.stringify(o), type: 'application/json' })) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => ({ body: JSON.stringify(v) ?? '', type: 'application/json' })) },
  { weight: 1, arbitrary: fc.tuple(prototypeKeys, anyValue).map(([k, v]) => ({ body: `{"username":"alice","password":${JSON.stringify(PASSWORD)},"${k}":${JSON.stringify(v) ?? 'null'}}`, type: 'application/json' })) },
  { weight: 1, arbitrary: mutate(JSON.stringify({ username: 'alice', password: PASSWORD })).map((body) => ({ body, type: 'application/json' })) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 300 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data', '')).map(([body, type]) => ({ body, type })) },
  { weight: 1, arbitrary: fc.constantFrom('alice', ' alice', 'ALICE', 'ａｌｉｃｅ').map((u) => ({ body: JSON.stringify({ username: u, password: PASSWORD }), type: 'application/json' })) }
)

/**
 * Whether a parsed body holds a key Fastify's JSON parser refuses: an own `__proto__`, or an own
 * `constructor` object with an own `prototype`, at any depth. Judged on the parsed value, not the text,
 * so keys spelled with escapes and braces or quotes inside strings cannot fool it.
 */
function poisoned (value: unknown): boolean {
  const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const node = pending.pop()
    if (node === null || typeof node !== 'object') continue
    if (has(node, '__proto__')) return true
    const ctor = (node as Record<string, unknown>).constructor
    if (has(node, 'constructor') && ctor !== null && typeof ctor === 'object' && has(ctor, 'prototype')) return true
    pending.push(...Object.values(node))
  }
  return false
}

/** Genuine: a JSON object naming alice or bob (as logins are matched: NFKC, trimmed, case-folded) with their password. */
function genuine (i: Input): boolean {
  if (i.type !== 'application/json') return false
  let v: unknown
  try { v = JSON.parse(i.body) } catch { return false }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  // Fastify's JSON parser refuses bodies with __proto__ or constructor.prototype (prototype poisoning).
  if (poisoned(v)) return false
  const { username, password } = v as Record<string, unknown>
  return typeof username === 'string' && typeof password === 'string' && username.length > 0 && [...username].length <= 254 &&
    ['alice', 'bob'].includes(normalizeLogin(username)) && password.normalize('NFKC') === PASSWORD && [...password].length <= 128
}

t.test('fuzz: login bodies [ASVS 5.1.3, 5.1.4, 13.1; API8:2023; CWE-1321]', async (t) => {
  await fuzz(t, app, {
    name: 'login body',
    arbitrary: input,
    request: (i) => ({ method: 'POST', url: '/api/login', headers: i.type === '' ? {} : { 'content-type': i.type }, payload: i.body }),
    genuine
  })
  t.equal(({} as Record<string, unknown>).username, undefined, 'Object.prototype is unpolluted')
})

auditSweep(t)
