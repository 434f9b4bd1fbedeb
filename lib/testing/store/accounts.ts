import { createHash, randomUUID } from 'node:crypto'
import type { AccountTokenRepository, GatekeeperStore, NewAccountToken } from '../../stores/types.js'
import type { Check } from './check.js'

const HOUR = 3_600_000
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/**
 * The store behaviour the `accounts` plugin needs: users' email addresses
 * (unique after normalisation, looked up by `findByEmail`) and one-time
 * account tokens. Called by `storeConformance` unless `{ accounts: false }`.
 */
export function accountsConformance (t: Check, name: string, open: (t: Check) => Promise<GatekeeperStore>): void {
  const findByEmail = (store: GatekeeperStore, email: string): ReturnType<NonNullable<GatekeeperStore['users']['findByEmail']>> => {
    if (store.users.findByEmail === undefined) throw new Error(`${name} store has no users.findByEmail`)
    return store.users.findByEmail(email)
  }
  const tokensOf = (store: GatekeeperStore): AccountTokenRepository => {
    if (store.accountTokens === undefined) throw new Error(`${name} store has no accountTokens repository`)
    return store.accountTokens
  }

  t.test('user emails', async (t) => {
    t.test('a user without an email has email and emailVerifiedAt null', async (t) => {
      const store = await open(t)
      const u = await store.users.create({ username: 'plain', passwordHash: null })
      t.equal(u.email, null)
      t.equal(u.emailVerifiedAt, null)
      t.same(await store.users.findById(u.id), u)
    })

    t.test('an email and its verification time round-trip and find the user, whatever the case', async (t) => {
      const store = await open(t)
      const verifiedAt = new Date(Date.now() - HOUR)
      const u = await store.users.create({ username: 'ada', passwordHash: null, email: 'Ada.Lovelace@Example.org', emailVerifiedAt: verifiedAt })
      t.equal(u.email, 'Ada.Lovelace@Example.org', 'kept as entered')
      t.same(u.emailVerifiedAt, verifiedAt)
      for (const e of ['ada.lovelace@example.org', ' ADA.LOVELACE@EXAMPLE.ORG ', 'Ａｄａ.Lovelace@Example.org']) t.equal((await findByEmail(store, e))?.id, u.id, e)
      t.equal(await findByEmail(store, 'ada@example.org'), null)
      t.same(await findByEmail(store, 'ada.lovelace@example.org'), u)
    })

    t.test('the email may be the username', async (t) => {
      const store = await open(t)
      const u = await store.users.create({ username: 'grace@example.org', passwordHash: null, email: 'grace@example.org' })
      t.equal((await store.users.findByLogin('GRACE@example.org'))?.id, u.id)
      t.equal((await findByEmail(store, 'GRACE@example.org'))?.id, u.id)
    })

    t.test('an email another user has is a conflict, on create and on update, and changes nothing', async (t) => {
      const store = await open(t)
      await store.users.create({ username: 'first', passwordHash: null, email: 'taken@example.org' })
      await t.rejects(store.users.create({ username: 'second', passwordHash: null, email: 'TAKEN@example.org' }), { code: 'GK_CONFLICT', statusCode: 409, message: /email/ })
      t.equal(await store.users.findByLogin('second'), null, 'the refused user was not created')
      const other = await store.users.create({ username: 'third', passwordHash: 'h', email: 'third@example.org' })
      await t.rejects(store.users.update(other.id, { email: 'Taken@Example.org', roles: ['admin'] }), { code: 'GK_CONFLICT', message: /email/ })
      t.same(await store.users.findById(other.id), other)
      t.equal((await findByEmail(store, 'third@example.org'))?.id, other.id)
    })

    t.test('several users without an email are fine', async (t) => {
      const store = await open(t)
      await store.users.create({ username: 'n1', passwordHash: null })
      await store.users.create({ username: 'n2', passwordHash: null, email: null })
      t.ok(await store.users.create({ username: 'n3', passwordHash: null }))
    })

    t.test('update moves the email: the new one finds the user, the old one is free; null clears it', async (t) => {
      const store = await open(t)
      const u = await store.users.create({ username: 'moves', passwordHash: null, email: 'old@example.org' })
      const at = new Date(Date.now() - 1000)
      const v = await store.users.update(u.id, { email: 'new@example.org', emailVerifiedAt: at, username: 'new@example.org' })
      t.match(v, { email: 'new@example.org', emailVerifiedAt: at, username: 'new@example.org' })
      t.equal((await findByEmail(store, 'new@example.org'))?.id, u.id)
      t.equal(await findByEmail(store, 'old@example.org'), null)
      t.ok(await store.users.create({ username: 'reuses', passwordHash: null, email: 'old@example.org' }), 'the old address is free')
      const w = await store.users.update(u.id, { email: null, emailVerifiedAt: null })
      t.match(w, { email: null, emailVerifiedAt: null })
      t.equal(await findByEmail(store, 'new@example.org'), null)
      t.same(await store.users.findById(u.id), w)
    })

    t.test('update leaves the email alone when the patch does not name it', async (t) => {
      const store = await open(t)
      const at = new Date(Date.now() - HOUR)
      const u = await store.users.create({ username: 'stays', passwordHash: null, email: 'stays@example.org', emailVerifiedAt: at })
      const v = await store.users.update(u.id, { roles: ['x'], passwordHash: 'h2' })
      t.match(v, { email: 'stays@example.org', emailVerifiedAt: at })
    })

    t.test('delete frees the email', async (t) => {
      const store = await open(t)
      const u = await store.users.create({ username: 'gone', passwordHash: null, email: 'gone@example.org' })
      await store.users.delete(u.id)
      t.equal(await findByEmail(store, 'gone@example.org'), null)
      t.ok(await store.users.create({ username: 'back', passwordHash: null, email: 'gone@example.org' }))
    })

    t.test('returned users are copies: their verification date too', async (t) => {
      const store = await open(t)
      const at = new Date(Date.now() - HOUR)
      const u = await store.users.create({ username: 'copy', passwordHash: null, email: 'copy@example.org', emailVerifiedAt: at })
      u.emailVerifiedAt?.setTime(0)
      const found = await findByEmail(store, 'copy@example.org')
      found?.emailVerifiedAt?.setTime(0)
      t.same((await store.users.findById(u.id))?.emailVerifiedAt, at)
    })
  })

  t.test('account tokens', async (t) => {
    const token = (secret: string, over: Partial<NewAccountToken> = {}): NewAccountToken =>
      ({ hash: sha(secret), userId: 'u1', kind: 'password_reset', email: 'u1@example.org', expiresAt: new Date(Date.now() + HOUR), ...over })

    t.test('a created token reads back by hash, unconsumed', async (t) => {
      const repo = tokensOf(await open(t))
      const input = token(`t-${randomUUID()}`)
      const before = Date.now()
      const r = await repo.create(input)
      t.match(r, { hash: input.hash, userId: 'u1', kind: 'password_reset', email: 'u1@example.org', expiresAt: input.expiresAt, consumedAt: null })
      t.type(r.id, 'string')
      t.ok(r.createdAt.getTime() >= before - 1000 && r.createdAt.getTime() <= Date.now() + 1000)
      t.same(await repo.findByHash(input.hash), r)
      t.equal(await repo.findByHash(sha('nope')), null)
    })

    t.test('a taken hash is a conflict', async (t) => {
      const repo = tokensOf(await open(t))
      await repo.create(token('dup', { userId: 'a' }))
      await t.rejects(repo.create(token('dup', { userId: 'b', kind: 'email_verification' })), { code: 'GK_CONFLICT', statusCode: 409 })
    })

    t.test('consume gives the record once, then null', async (t) => {
      const repo = tokensOf(await open(t))
      await repo.create(token('once'))
      const now = new Date()
      const first = await repo.consume(sha('once'), 'password_reset', now)
      t.match(first, { hash: sha('once'), consumedAt: now })
      t.equal(await repo.consume(sha('once'), 'password_reset', new Date()), null)
      t.same((await repo.findByHash(sha('once')))?.consumedAt, now)
    })

    t.test('unknown, expired and other-kind tokens give null and stay unconsumed', async (t) => {
      const repo = tokensOf(await open(t))
      const now = Date.now()
      await repo.create(token('expired', { expiresAt: new Date(now - 1) }))
      await repo.create(token('edge', { userId: 'u2', expiresAt: new Date(now) }))
      await repo.create(token('kind', { userId: 'u3', kind: 'email_verification' }))
      t.equal(await repo.consume(sha('never-made'), 'password_reset', new Date(now)), null)
      t.equal(await repo.consume(sha('expired'), 'password_reset', new Date(now)), null)
      t.equal(await repo.consume(sha('edge'), 'password_reset', new Date(now)), null, 'expiresAt equal to now is expired')
      t.equal(await repo.consume(sha('kind'), 'password_reset', new Date(now)), null)
      t.equal((await repo.findByHash(sha('kind')))?.consumedAt, null, 'a wrong-kind attempt does not use the token up')
      t.ok(await repo.consume(sha('kind'), 'email_verification', new Date(now)))
    })

    t.test('50 concurrent consumers of one token: exactly one gets it', async (t) => {
      const repo = tokensOf(await open(t))
      await repo.create(token('race'))
      const results = await Promise.all(Array.from({ length: 50 }, () => repo.consume(sha('race'), 'password_reset', new Date())))
      t.equal(results.filter((r) => r !== null).length, 1)
    })

    t.test('a newer token of the same user and kind replaces the older one; other users and kinds keep theirs', async (t) => {
      const repo = tokensOf(await open(t))
      await repo.create(token('old'))
      await repo.create(token('other-user', { userId: 'u2' }))
      await repo.create(token('other-kind', { kind: 'email_verification' }))
      const newer = await repo.create(token('new'))
      t.equal(await repo.findByHash(sha('old')), null, 'the older link is dead')
      t.equal(await repo.consume(sha('old'), 'password_reset', new Date()), null)
      t.same(await repo.findByHash(sha('new')), newer)
      t.ok(await repo.consume(sha('other-user'), 'password_reset', new Date()))
      t.ok(await repo.consume(sha('other-kind'), 'email_verification', new Date()))
      t.ok(await repo.consume(sha('new'), 'password_reset', new Date()))
      t.ok(await repo.create(token('after-use')), 'a consumed token does not block the next one')
      t.ok(await repo.findByHash(sha('new')), 'and the consumed one is kept')
    })

    t.test('20 concurrent creates for one user and kind leave exactly one usable token', async (t) => {
      const repo = tokensOf(await open(t))
      await Promise.all(Array.from({ length: 20 }, (_, i) => repo.create(token(`many-${i}`))))
      const alive = await Promise.all(Array.from({ length: 20 }, (_, i) => repo.consume(sha(`many-${i}`), 'password_reset', new Date())))
      t.equal(alive.filter((r) => r !== null).length, 1)
    })

    t.test('revert tokens accumulate: a later change does not cancel the way back from an earlier one', async (t) => {
      const repo = tokensOf(await open(t))
      await repo.create(token('revert-a', { kind: 'email_revert', email: 'a@example.org' }))
      await repo.create(token('revert-b', { kind: 'email_revert', email: 'b@example.org' }))
      t.match(await repo.consume(sha('revert-a'), 'email_revert', new Date()), { email: 'a@example.org' })
      t.match(await repo.consume(sha('revert-b'), 'email_revert', new Date()), { email: 'b@example.org' })
    })

    t.test('revokeForUser deletes the user\'s unconsumed tokens of the given kinds only', async (t) => {
      const repo = tokensOf(await open(t))
      await repo.create(token('r1'))
      await repo.create(token('r2', { kind: 'email_change' }))
      await repo.create(token('r3', { kind: 'email_revert' }))
      await repo.create(token('r4', { kind: 'email_revert' }))
      await repo.create(token('r5', { userId: 'u2' }))
      await repo.create(token('r6', { kind: 'email_verification' }))
      await repo.consume(sha('r6'), 'email_verification', new Date())
      t.equal(await repo.revokeForUser('u1', ['password_reset', 'email_revert', 'email_verification']), 3)
      for (const gone of ['r1', 'r3', 'r4']) t.equal(await repo.findByHash(sha(gone)), null, gone)
      for (const kept of ['r2', 'r5', 'r6']) t.ok(await repo.findByHash(sha(kept)), kept)
      t.equal(await repo.revokeForUser('nobody', ['password_reset']), 0)
    })

    t.test('deleteExpired removes tokens at or past their expiry, consumed or not', async (t) => {
      const repo = tokensOf(await open(t))
      const now = Date.now()
      await repo.create(token('past', { expiresAt: new Date(now - HOUR) }))
      await repo.create(token('at', { userId: 'u2', expiresAt: new Date(now) }))
      await repo.create(token('used', { userId: 'u3', expiresAt: new Date(now - 1) }))
      await repo.create(token('live', { userId: 'u4' }))
      t.equal(await repo.deleteExpired(new Date(now)), 3)
      t.equal(await repo.findByHash(sha('past')), null)
      t.ok(await repo.findByHash(sha('live')))
    })

    t.test('returned tokens are copies', async (t) => {
      const repo = tokensOf(await open(t))
      const made = await repo.create(token('copy'))
      made.expiresAt.setTime(0)
      made.userId = 'mallory'
      const found = await repo.findByHash(sha('copy'))
      found?.expiresAt.setTime(0)
      const again = await repo.findByHash(sha('copy'))
      t.equal(again?.userId, 'u1')
      t.not(again?.expiresAt.getTime(), 0)
    })
  })
}
