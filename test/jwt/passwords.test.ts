import argon2 from 'argon2'
import t from 'tap'
import { OWASP_ARGON2, Passwords, codePoints, normalizePassword, parsePhc, problemMessage, type PasswordPolicy } from '../../lib/jwt/passwords.js'

function policy (extra: Partial<PasswordPolicy> = {}): PasswordPolicy {
  return { minLength: 8, maxLength: 64, argon2: OWASP_ARGON2, blocklist: new Set(['gatekeeper']), ...extra }
}

t.test('hashes are argon2id PHC strings with at least the OWASP parameters', async (t) => {
  const p = new Passwords(policy())
  const hash = await p.hash('correct horse battery')
  const phc = parsePhc(hash)
  t.match(phc, { type: 'argon2id', version: 19, memoryCost: 19456, timeCost: 2, parallelism: 1 })
  t.equal(await p.verify(hash, 'correct horse battery'), true)
  t.equal(await p.verify(hash, 'correct horse batterY'), false)
  t.equal(p.needsRehash(hash), false)
})

t.test('passwords are NFKC-normalised and never truncated', async (t) => {
  const p = new Passwords(policy())
  // U+FB01 (the "fi" ligature) is NFKC-equivalent to "fi".
  const hash = await p.hash('\uFB01ne password here')
  t.equal(await p.verify(hash, 'fine password here'), true)
  t.equal(normalizePassword('\u212B'), '\u00C5')
  const long = 'x'.repeat(63) + 'y'
  const h2 = await p.hash(long)
  t.equal(await p.verify(h2, 'x'.repeat(63) + 'z'), false, 'the last character counts')
})

t.test('length is counted in code points, after normalisation', async (t) => {
  t.equal(codePoints('abc'), 3)
  t.equal(codePoints('😀😀'), 2)
  t.equal(codePoints('\ud800x'), 2, 'a lone surrogate counts once')
  const p = new Passwords(policy())
  t.equal(await p.check('😀'.repeat(8)), null, 'eight emoji are eight characters')
  t.equal(await p.check('😀'.repeat(7)), 'too_short')
})

t.test('the policy refuses short, long, common and blocklisted passwords', async (t) => {
  const p = new Passwords(policy())
  const rows: Array<[unknown, string | null]> = [
    ['short', 'too_short'],
    ['x'.repeat(65), 'too_long'],
    ['x'.repeat(1000), 'too_long'],
    ['password', 'common'],
    ['PassWord1', 'common'],
    ['12345678', 'common'],
    ['GateKeeper', 'common'],
    ['a perfectly fine passphrase', null],
    [42, 'too_short']
  ]
  for (const [input, expected] of rows) t.equal(await p.check(input as string), expected, String(input).slice(0, 20))
  t.equal(problemMessage('too_short', p.policy), 'password must be at least 8 characters')
  t.equal(problemMessage('too_long', p.policy), 'password must be at most 64 characters')
  t.match(problemMessage('common', p.policy), /too common/)
  t.match(problemMessage('breached', p.policy), /breach/)
})

t.test('the isBreached hook refuses a password; a failing hook does not block', async (t) => {
  const seen: string[] = []
  const p = new Passwords(policy({ isBreached: async (pw) => { seen.push(pw); return pw === 'breached passphrase' } }))
  t.equal(await p.check('breached passphrase'), 'breached')
  t.equal(await p.check('another passphrase'), null)
  t.same(seen, ['breached passphrase', 'another passphrase'])
  const down = new Passwords(policy({ isBreached: () => { throw new Error('service down') } }))
  t.equal(await down.check('another passphrase'), null)
})

t.test('hash refuses out-of-bounds passwords before hashing', async (t) => {
  const p = new Passwords(policy())
  await t.rejects(p.hash('short'), { code: 'GK_INVALID_REQUEST' })
  await t.rejects(p.hash('x'.repeat(65)), { code: 'GK_INVALID_REQUEST' })
  await t.rejects(p.hash('x'.repeat(1_000_000)), { code: 'GK_INVALID_REQUEST' })
  await t.rejects(p.hash(7 as unknown as string), { code: 'GK_INVALID_REQUEST' })
})

t.test('verify is false, never a throw, for hostile input', async (t) => {
  const p = new Passwords(policy())
  const hash = await p.hash('correct horse battery')
  t.equal(await p.verify('not a hash', 'correct horse battery'), false)
  t.equal(await p.verify('$argon2id$v=19$m=19456,t=2,p=1$AAAA$AAAA', 'correct horse battery'), false)
  t.equal(await p.verify(hash, 'x'.repeat(1_000_000)), false)
  t.equal(await p.verify(hash, 'x'.repeat(65)), false)
  t.equal(await p.verify(hash, null as unknown as string), false)
})

t.test('weaker stored hashes need a rehash; equal or stronger ones do not', async (t) => {
  const p = new Passwords(policy())
  const rows: Array<[string, boolean]> = [
    [await argon2.hash('pw-pw-pw-pw', { type: argon2.argon2id, memoryCost: 8192, timeCost: 2, parallelism: 1 }), true],
    [await argon2.hash('pw-pw-pw-pw', { type: argon2.argon2id, memoryCost: 19456, timeCost: 1, parallelism: 1 }), true],
    [await argon2.hash('pw-pw-pw-pw', { type: argon2.argon2i, memoryCost: 19456, timeCost: 2, parallelism: 1 }), true],
    [await argon2.hash('pw-pw-pw-pw', { type: argon2.argon2id, memoryCost: 19456, timeCost: 3, parallelism: 1 }), false],
    ['$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', true],
    ['$2b$10$abcdefghijklmnopqrstuv', false]
  ]
  for (const [hash, expected] of rows) t.equal(p.needsRehash(hash), expected, hash.slice(0, 32))
  const rehashed = await p.rehash('pw-pw-pw-pw')
  t.equal(p.needsRehash(rehashed), false)
  t.equal(await p.verify(rehashed, 'pw-pw-pw-pw'), true)
})

t.test('parsePhc reads parameters in any order and refuses junk', async (t) => {
  t.match(parsePhc('$argon2id$v=19$m=65536,p=4,t=3$c2FsdA$aGFzaA'), { memoryCost: 65536, timeCost: 3, parallelism: 4 })
  t.equal(parsePhc('$argon2id$v=19$m=65536,t=3$c2FsdA$aGFzaA'), null)
  t.equal(parsePhc('$argon2id$v=19$m=x,t=3,p=1$c2FsdA$aGFzaA'), null)
  t.equal(parsePhc('$argon2id$v=19$m,t=3,p=1$c2FsdA$aGFzaA'), null)
  t.equal(parsePhc('$argon2id$' + 'x'.repeat(600)), null)
})

t.test('the dummy hash is made once and always fails', async (t) => {
  const p = new Passwords(policy())
  const a = await p.dummyHash()
  t.equal(await p.dummyHash(), a)
  t.equal(await p.dummyVerify(), false)
})
