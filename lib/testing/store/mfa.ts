import { createHash } from 'node:crypto'
import type {
  ChallengeRepository, GatekeeperStore, MfaFactorRepository, NewWebAuthnCredential, RecoveryCodeRepository, WebAuthnCredentialRepository
} from '../../stores/types.js'
import type { Check } from './check.js'

const MINUTE = 60_000
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

function need<T> (value: T | undefined, name: string, what: string): T {
  if (value === undefined) throw new Error(`${name} store has no ${what} repository`)
  return value
}

/**
 * The store behaviour the `mfa` plugin needs: TOTP factors, recovery codes,
 * WebAuthn credentials, single-use challenges and the authentication of a
 * refresh family. Called by `storeConformance` unless `{ mfa: false }`.
 */
export function mfaConformance (t: Check, name: string, open: (t: Check) => Promise<GatekeeperStore>): void {
  const factorsOf = async (t: Check): Promise<MfaFactorRepository> => need((await open(t)).mfaFactors, name, 'mfaFactors')
  const codesOf = async (t: Check): Promise<RecoveryCodeRepository> => need((await open(t)).recoveryCodes, name, 'recoveryCodes')
  const credsOf = async (t: Check): Promise<WebAuthnCredentialRepository> => need((await open(t)).webauthnCredentials, name, 'webauthnCredentials')
  const challengesOf = async (t: Check): Promise<ChallengeRepository> => need((await open(t)).challenges, name, 'challenges')

  t.test('mfa factors', async (t) => {
    t.test('a created factor is unconfirmed, without a step, and reads back by id and by user', async (t) => {
      const repo = await factorsOf(t)
      const f = await repo.create({ userId: 'u1', kind: 'totp', secret: 'k1:sealed', name: 'phone' })
      t.match(f, { userId: 'u1', kind: 'totp', secret: 'k1:sealed', name: 'phone', confirmedAt: null, lastStep: null, lastUsedAt: null })
      t.ok(f.createdAt instanceof Date)
      t.same(await repo.findById(f.id), f)
      t.same(await repo.listByUser('u1'), [f])
      t.same(await repo.listByUser('u2'), [])
      t.equal(await repo.findById('nope'), null)
      await t.rejects(repo.create({ id: f.id, userId: 'u1', kind: 'totp', secret: 'x' }), { code: 'GK_CONFLICT' })
    })

    t.test('an unconfirmed factor accepts a step only to confirm it; then steps only move forward', async (t) => {
      const repo = await factorsOf(t)
      const f = await repo.create({ userId: 'u1', kind: 'totp', secret: 's' })
      const at = new Date(Date.now() - 1000)
      t.equal(await repo.acceptStep(f.id, 100, at), false, 'not confirmed: refused')
      t.equal(await repo.acceptStep(f.id, 100, at, true), true, 'confirmed by its first code')
      t.match(await repo.findById(f.id), { confirmedAt: at, lastStep: 100, lastUsedAt: at })
      t.equal(await repo.acceptStep(f.id, 100, new Date()), false, 'the same step again: a replay')
      t.equal(await repo.acceptStep(f.id, 99, new Date()), false, 'an earlier step')
      t.equal(await repo.acceptStep(f.id, 101, new Date()), true)
      t.equal(await repo.acceptStep(f.id, 102, new Date(), true), true, 'confirm on a confirmed factor just accepts')
      t.match(await repo.findById(f.id), { confirmedAt: at, lastStep: 102 })
      t.equal(await repo.acceptStep('unknown', 5, new Date(), true), false)
    })

    t.test('30 concurrent acceptances of one step: exactly one succeeds', async (t) => {
      const repo = await factorsOf(t)
      const f = await repo.create({ userId: 'u1', kind: 'totp', secret: 's' })
      await repo.acceptStep(f.id, 1, new Date(), true)
      const results = await Promise.all(Array.from({ length: 30 }, () => repo.acceptStep(f.id, 7, new Date())))
      t.equal(results.filter(Boolean).length, 1)
    })

    t.test('delete and deleteForUser remove only what they name', async (t) => {
      const repo = await factorsOf(t)
      const a = await repo.create({ userId: 'u1', kind: 'totp', secret: 'a' })
      await repo.create({ userId: 'u1', kind: 'totp', secret: 'b' })
      const c = await repo.create({ userId: 'u2', kind: 'totp', secret: 'c' })
      t.equal(await repo.delete(a.id), true)
      t.equal(await repo.delete(a.id), false)
      t.equal(await repo.deleteForUser('u1', ['totp']), 1)
      t.equal(await repo.deleteForUser('u1'), 0)
      t.same((await repo.listByUser('u2')).map((f) => f.id), [c.id])
      t.equal(await repo.deleteForUser('u2'), 1)
    })

    t.test('returned factors are copies', async (t) => {
      const repo = await factorsOf(t)
      const f = await repo.create({ userId: 'u1', kind: 'totp', secret: 's' })
      f.secret = 'mallory'
      f.createdAt.setTime(0)
      const again = await repo.findById(f.id)
      t.equal(again?.secret, 's')
      t.not(again?.createdAt.getTime(), 0)
    })
  })

  t.test('recovery codes', async (t) => {
    t.test('a code is consumed once; remaining counts the unused ones', async (t) => {
      const repo = await codesOf(t)
      await repo.replace('u1', [sha('a'), sha('b'), sha('c')])
      t.equal(await repo.remaining('u1'), 3)
      t.equal(await repo.consume('u1', sha('a'), new Date()), true)
      t.equal(await repo.consume('u1', sha('a'), new Date()), false, 'reuse refused')
      t.equal(await repo.consume('u2', sha('b'), new Date()), false, 'another user\'s code')
      t.equal(await repo.consume('u1', sha('z'), new Date()), false, 'unknown')
      t.equal(await repo.remaining('u1'), 2)
      t.equal(await repo.remaining('u2'), 0)
    })

    t.test('replace makes the old codes stop working; an empty list removes them all', async (t) => {
      const repo = await codesOf(t)
      await repo.replace('u1', [sha('old')])
      await repo.replace('u2', [sha('other')])
      await repo.replace('u1', [sha('new1'), sha('new2')])
      t.equal(await repo.consume('u1', sha('old'), new Date()), false)
      t.equal(await repo.consume('u1', sha('new1'), new Date()), true)
      t.equal(await repo.remaining('u1'), 1)
      await repo.replace('u1', [])
      t.equal(await repo.remaining('u1'), 0)
      t.equal(await repo.remaining('u2'), 1, 'other users keep theirs')
    })

    t.test('30 concurrent consumers of one code: exactly one gets it', async (t) => {
      const repo = await codesOf(t)
      await repo.replace('u1', [sha('race')])
      const results = await Promise.all(Array.from({ length: 30 }, () => repo.consume('u1', sha('race'), new Date())))
      t.equal(results.filter(Boolean).length, 1)
    })
  })

  t.test('webauthn credentials', async (t) => {
    const cred = (id: string, over: Partial<NewWebAuthnCredential> = {}): NewWebAuthnCredential => ({
      id, userId: 'u1', publicKey: 'pQECAyYgASFYIA', counter: 0, transports: ['internal', 'hybrid'], backupEligible: true, backedUp: false, name: 'laptop', ...over
    })

    t.test('a created credential reads back by id and per user, oldest first; an id is unique across users', async (t) => {
      const repo = await credsOf(t)
      const a = await repo.create(cred('cred-A'))
      t.match(a, { id: 'cred-A', userId: 'u1', publicKey: 'pQECAyYgASFYIA', counter: 0, transports: ['internal', 'hybrid'], backupEligible: true, backedUp: false, name: 'laptop', lastUsedAt: null })
      t.ok(a.createdAt instanceof Date)
      const b = await repo.create(cred('cred-b', { counter: 5, transports: undefined, backupEligible: false, name: 'key' }))
      t.same(b.transports, [])
      t.same(await repo.findById('cred-A'), a)
      t.equal(await repo.findById('cred-a'), null, 'ids compare exactly')
      t.same((await repo.listByUser('u1')).map((c) => c.id), ['cred-A', 'cred-b'])
      await t.rejects(repo.create(cred('cred-A', { userId: 'u2' })), { code: 'GK_CONFLICT' })
    })

    t.test('updateCounter: forward is ok, equal or backwards is regressed and changes nothing, 0 stays 0', async (t) => {
      const repo = await credsOf(t)
      await repo.create(cred('zero'))
      const at = new Date(Date.now() - 1000)
      t.equal(await repo.updateCounter('zero', 0, at, true), 'ok', 'an authenticator without a counter')
      t.match(await repo.findById('zero'), { counter: 0, backedUp: true, lastUsedAt: at })
      t.equal(await repo.updateCounter('zero', 3, new Date(), true), 'ok')
      t.equal(await repo.updateCounter('zero', 3, new Date(), false), 'regressed', 'same counter: a clone')
      t.equal(await repo.updateCounter('zero', 2, new Date(), false), 'regressed')
      t.equal(await repo.updateCounter('zero', 0, new Date(), false), 'regressed', 'back to 0 after counting')
      t.match(await repo.findById('zero'), { counter: 3, backedUp: true })
      t.equal(await repo.updateCounter('nope', 1, new Date(), false), 'unknown')
      t.equal(await repo.updateCounter('zero', 4_000_000_000, new Date(), false), 'ok', 'a 32-bit counter fits')
    })

    t.test('20 concurrent uses with one counter value: exactly one is ok', async (t) => {
      const repo = await credsOf(t)
      await repo.create(cred('race', { counter: 1 }))
      const results = await Promise.all(Array.from({ length: 20 }, () => repo.updateCounter('race', 2, new Date(), false)))
      t.equal(results.filter((r) => r === 'ok').length, 1)
      t.equal(results.filter((r) => r === 'regressed').length, 19)
    })

    t.test('rename and delete act only on the user\'s own credential', async (t) => {
      const repo = await credsOf(t)
      await repo.create(cred('mine'))
      await repo.create(cred('theirs', { userId: 'u2' }))
      t.equal(await repo.rename('theirs', 'u1', 'stolen'), false)
      t.equal(await repo.rename('mine', 'u1', 'work laptop'), true)
      t.equal((await repo.findById('mine'))?.name, 'work laptop')
      t.equal(await repo.delete('theirs', 'u1'), false)
      t.ok(await repo.findById('theirs'))
      t.equal(await repo.delete('mine', 'u1'), true)
      t.equal(await repo.findById('mine'), null)
      await repo.create(cred('t2', { userId: 'u2' }))
      t.equal(await repo.deleteForUser('u2'), 2)
      t.same(await repo.listByUser('u2'), [])
    })

    t.test('returned credentials are copies', async (t) => {
      const repo = await credsOf(t)
      const c = await repo.create(cred('copy'))
      c.transports.push('usb')
      c.userId = 'mallory'
      const again = await repo.findById('copy')
      t.same(again?.transports, ['internal', 'hybrid'])
      t.equal(again?.userId, 'u1')
    })
  })

  t.test('challenges', async (t) => {
    const later = (): Date => new Date(Date.now() + 5 * MINUTE)

    t.test('a created challenge is found while live and consumed once', async (t) => {
      const repo = await challengesOf(t)
      const c = await repo.create({ hash: sha('c1'), kind: 'mfa_login', userId: 'u1', data: { amr: ['pwd'], nested: { n: 1 } }, expiresAt: later() })
      t.match(c, { hash: sha('c1'), kind: 'mfa_login', userId: 'u1', data: { amr: ['pwd'], nested: { n: 1 } }, attempts: 0, consumedAt: null })
      t.same(await repo.find(sha('c1'), 'mfa_login', new Date()), c)
      t.equal(await repo.find(sha('c1'), 'webauthn_authentication', new Date()), null, 'another kind')
      t.equal(await repo.consume(sha('c1'), 'webauthn_registration', new Date()), null, 'another kind does not use it')
      const used = await repo.consume(sha('c1'), 'mfa_login', new Date())
      t.match(used, { userId: 'u1', data: { amr: ['pwd'] } })
      t.ok(used?.consumedAt instanceof Date)
      t.equal(await repo.consume(sha('c1'), 'mfa_login', new Date()), null, 'single use')
      t.equal(await repo.find(sha('c1'), 'mfa_login', new Date()), null)
      await t.rejects(repo.create({ hash: sha('c1'), kind: 'mfa_login', expiresAt: later() }), { code: 'GK_CONFLICT' })
    })

    t.test('a challenge without a user has userId null and empty data', async (t) => {
      const repo = await challengesOf(t)
      const c = await repo.create({ hash: sha('anon'), kind: 'webauthn_authentication', expiresAt: later() })
      t.match(c, { userId: null, data: {} })
    })

    t.test('an expired challenge is neither found nor consumed; expiresAt equal to now is expired', async (t) => {
      const repo = await challengesOf(t)
      const now = Date.now()
      await repo.create({ hash: sha('edge'), kind: 'mfa_login', expiresAt: new Date(now) })
      t.equal(await repo.find(sha('edge'), 'mfa_login', new Date(now)), null)
      t.equal(await repo.consume(sha('edge'), 'mfa_login', new Date(now)), null)
      t.equal(await repo.fail(sha('edge'), 'mfa_login', new Date(now), 5), null)
      t.ok(await repo.consume(sha('edge'), 'mfa_login', new Date(now - 1)), 'still live a millisecond earlier')
    })

    t.test('fail counts answers and spends the challenge at the limit', async (t) => {
      const repo = await challengesOf(t)
      await repo.create({ hash: sha('f'), kind: 'mfa_login', userId: 'u1', expiresAt: later() })
      t.equal(await repo.fail(sha('f'), 'mfa_login', new Date(), 3), 2)
      t.equal(await repo.fail(sha('f'), 'mfa_login', new Date(), 3), 1)
      t.match(await repo.find(sha('f'), 'mfa_login', new Date()), { attempts: 2 })
      t.equal(await repo.fail(sha('f'), 'mfa_login', new Date(), 3), 0)
      t.equal(await repo.find(sha('f'), 'mfa_login', new Date()), null, 'spent')
      t.equal(await repo.consume(sha('f'), 'mfa_login', new Date()), null)
      t.equal(await repo.fail(sha('f'), 'mfa_login', new Date(), 3), null)
      t.equal(await repo.fail(sha('unknown'), 'mfa_login', new Date(), 3), null)
    })

    t.test('50 concurrent consumers of one challenge: exactly one gets it', async (t) => {
      const repo = await challengesOf(t)
      await repo.create({ hash: sha('race'), kind: 'webauthn_authentication', expiresAt: later() })
      const results = await Promise.all(Array.from({ length: 50 }, () => repo.consume(sha('race'), 'webauthn_authentication', new Date())))
      t.equal(results.filter((r) => r !== null).length, 1)
    })

    t.test('20 concurrent failures with a limit of 5: exactly 5 are counted', async (t) => {
      const repo = await challengesOf(t)
      await repo.create({ hash: sha('many'), kind: 'mfa_login', expiresAt: later() })
      const results = await Promise.all(Array.from({ length: 20 }, () => repo.fail(sha('many'), 'mfa_login', new Date(), 5)))
      t.equal(results.filter((r) => r !== null).length, 5)
      t.same(results.filter((r) => r !== null).sort(), [0, 1, 2, 3, 4])
    })

    t.test('deleteExpired removes challenges at or past their expiry', async (t) => {
      const repo = await challengesOf(t)
      const now = Date.now()
      await repo.create({ hash: sha('past'), kind: 'mfa_login', expiresAt: new Date(now - MINUTE) })
      await repo.create({ hash: sha('at'), kind: 'mfa_login', expiresAt: new Date(now) })
      await repo.create({ hash: sha('live'), kind: 'mfa_login', expiresAt: later() })
      t.equal(await repo.deleteExpired(new Date(now)), 2)
      t.ok(await repo.find(sha('live'), 'mfa_login', new Date(now)))
    })

    t.test('returned challenges are copies', async (t) => {
      const repo = await challengesOf(t)
      const c = await repo.create({ hash: sha('copy'), kind: 'mfa_login', userId: 'u1', data: { list: ['a'] }, expiresAt: later() })
      ;(c.data.list as string[]).push('b')
      c.userId = 'mallory'
      const again = await repo.find(sha('copy'), 'mfa_login', new Date())
      t.same(again?.data, { list: ['a'] })
      t.equal(again?.userId, 'u1')
    })
  })

  t.test('refresh families remember their authentication', async (t) => {
    t.test('authTime defaults to the creation time and amr to null; both round-trip', async (t) => {
      const store = await open(t)
      const expiresAt = new Date(Date.now() + 60 * MINUTE)
      const plain = await store.refreshTokens.createFamily({ userId: 'u1', expiresAt }, { hash: sha('rt-plain'), expiresAt })
      t.same(plain.family.authTime, plain.family.createdAt)
      t.equal(plain.family.amr, null)
      const authTime = new Date(Date.now() - 2 * MINUTE)
      const mfa = await store.refreshTokens.createFamily({ userId: 'u1', expiresAt, authTime, amr: ['pwd', 'otp', 'mfa'] }, { hash: sha('rt-mfa'), expiresAt })
      t.same(mfa.family.authTime, authTime)
      t.same(mfa.family.amr, ['pwd', 'otp', 'mfa'])
      t.same(await store.refreshTokens.findFamily(mfa.family.id), mfa.family)
      const next = await store.refreshTokens.consume(sha('rt-mfa'), new Date(), { hash: sha('rt-mfa-2'), expiresAt })
      t.equal(next.status, 'ok')
      if (next.status === 'ok') t.match(next.family, { authTime, amr: ['pwd', 'otp', 'mfa'] }, 'consume returns them too')
    })

    t.test('reauthenticate sets them on a live family only', async (t) => {
      const store = await open(t)
      const reauth = need(store.refreshTokens.reauthenticate?.bind(store.refreshTokens), name, 'refreshTokens.reauthenticate')
      const expiresAt = new Date(Date.now() + 60 * MINUTE)
      const { family } = await store.refreshTokens.createFamily({ userId: 'u1', expiresAt, amr: ['pwd'] }, { hash: sha('rt-step'), expiresAt })
      const at = new Date(Date.now() - 1000)
      t.equal(await reauth(family.id, at, ['pwd', 'otp', 'mfa']), true)
      t.match(await store.refreshTokens.findFamily(family.id), { authTime: at, amr: ['pwd', 'otp', 'mfa'] })
      await store.refreshTokens.revokeFamily(family.id, new Date(), 'logout')
      t.equal(await reauth(family.id, new Date(), ['pwd']), false)
      t.equal(await reauth('unknown', new Date(), ['pwd']), false)
    })
  })
}
