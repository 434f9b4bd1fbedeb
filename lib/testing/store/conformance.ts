import { createHash, randomUUID } from 'node:crypto'
import { accountsConformance } from './accounts.js'
import type { Check } from './check.js'
import { mfaConformance } from './mfa.js'
import type { GatekeeperStore, IdentityRepository, NewApiKey, OAuthClientRecord, OAuthClientRepository } from '../../stores/types.js'

const HOUR = 3_600_000
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const uniq = (): string => randomUUID().slice(0, 8)

/** What a store leaves out of {@link storeConformance}. */
export interface StoreConformanceOptions {
  /** `false` for a store without the optional `oauthClients` and `identities` repositories. */
  oauth?: boolean
  /** `false` for a store without users' emails and `accountTokens`. */
  accounts?: boolean
  /** `false` for a store without the `mfa` and `passkeys` plugins' repositories (factors, recovery codes, WebAuthn credentials, challenges). */
  mfa?: boolean
}

/**
 * The behaviour every {@link GatekeeperStore} must have, as subtests of `t`
 * (tap's `t`, `nodeTest(test)` for `node:test`, or any {@link Check}). A
 * store's test file calls `storeConformance(t, 'sqlite', async () =>
 * sqliteStore(...))` and then
 * adds only its driver-specific cases. `makeStore` must return an empty store;
 * the suite calls `init()` (as the core does) and `close()` itself.
 *
 * A custom store (or a custom `users` repository over an existing database)
 * can run this same suite; one without the optional `oauthClients` and
 * `identities` repositories passes `{ oauth: false }`, one without users'
 * emails and `accountTokens` passes `{ accounts: false }`, one without
 * the `mfa` plugin's repositories passes `{ mfa: false }`. Every bundled
 * store runs it with them.
 */
export function storeConformance (t: Check, name: string, makeStore: () => Promise<GatekeeperStore>, opts: StoreConformanceOptions = {}): void {
  t.test(`${name} store conformance`, async (t) => {
    async function open (t: Check): Promise<GatekeeperStore> {
      const store = await makeStore()
      await store.init?.()
      t.teardown(() => store.close())
      return store
    }

    t.test('users', async (t) => {
      t.test('a created user reads back the same by id and by login', async (t) => {
        const store = await open(t)
        const before = Date.now()
        const u = await store.users.create({ username: 'Alice', passwordHash: '$argon2id$x', roles: ['user', 'editor'] })
        t.type(u.id, 'string')
        t.ok(u.id.length > 0)
        t.match(u, { username: 'Alice', passwordHash: '$argon2id$x', roles: ['user', 'editor'], disabled: false })
        t.ok(u.createdAt instanceof Date && u.updatedAt instanceof Date)
        t.ok(u.createdAt.getTime() >= before - 1000 && u.createdAt.getTime() <= Date.now() + 1000)
        t.same(await store.users.findById(u.id), u)
        t.same(await store.users.findByLogin('Alice'), u)
      })

      t.test('defaults: no roles, enabled, and a null password hash is kept', async (t) => {
        const store = await open(t)
        const u = await store.users.create({ id: 'ext-1', username: 'bob', passwordHash: null })
        t.same({ id: u.id, roles: u.roles, disabled: u.disabled, passwordHash: u.passwordHash }, { id: 'ext-1', roles: [], disabled: false, passwordHash: null })
        const d = await store.users.create({ username: 'carol', passwordHash: null, disabled: true })
        t.equal(d.disabled, true)
      })

      const taken: Array<[string, string]> = [
        ['admin', 'admin'],
        ['admin', 'ADMIN'],
        ['Admin', 'aDmIn'],
        ['admin', 'ＡＤＭＩＮ'],
        ['ＡＤＭＩＮ', 'admin'],
        ['admin', ' admin '],
        ['ﬁle', 'file']
      ]
      for (const [first, second] of taken) {
        t.test(`'${second}' is refused once '${first}' exists`, async (t) => {
          const store = await open(t)
          await store.users.create({ username: first, passwordHash: null })
          await t.rejects(store.users.create({ username: second, passwordHash: null }), { code: 'GK_CONFLICT', statusCode: 409 })
        })
      }

      t.test('usernames are one form on every store: NFKC, trimmed, lower case; ill-formed Unicode and NUL are refused', async (t) => {
        const store = await open(t)
        for (const bad of ['carol\ud800', 'carol\udfff', '\udc00carol', 'car\u0000ol']) {
          await t.rejects(store.users.create({ username: bad, passwordHash: null }), { code: 'GK_INVALID_REQUEST', statusCode: 400 }, `create ${JSON.stringify(bad)}`)
          t.equal(await store.users.findByLogin(bad), null, `${JSON.stringify(bad)} finds nobody`)
        }
        const replacement = await store.users.create({ username: 'carol\ufffd', passwordHash: null })
        t.equal(replacement.username, 'carol\ufffd', 'U+FFFD is a character like any other')
        for (const bad of ['carol\ud800', 'carol\udfff', 'carol\udc00']) t.equal(await store.users.findByLogin(bad), null, `${JSON.stringify(bad)} does not find carol\ufffd`)
        t.equal((await store.users.findByLogin(' CAROL\ufffd'))?.id, replacement.id)
        await t.rejects(store.users.update(replacement.id, { username: 'carol\ud800' }), { code: 'GK_INVALID_REQUEST' }, 'nor by a rename')
        const forms: Array<[string, string]> = [['Ｅｍｉｌｙ', 'emily'], ['Ǆemal', 'džemal'], ['ﬀion', 'FFION'], ['K\u212aelvin', 'kkelvin'], ['e\u0301va', '\u00e9va']]
        for (const [created, lookup] of forms) {
          const u = await store.users.create({ username: created, passwordHash: null })
          t.equal((await store.users.findByLogin(lookup))?.id, u.id, `${JSON.stringify(created)} is found as ${JSON.stringify(lookup)}`)
          t.equal(u.username, created, 'the username is kept as given')
        }
      })

      t.test('a duplicate id is a conflict', async (t) => {
        const store = await open(t)
        await store.users.create({ id: 'u1', username: 'one', passwordHash: null })
        await t.rejects(store.users.create({ id: 'u1', username: 'two', passwordHash: null }), { code: 'GK_CONFLICT', statusCode: 409 })
        t.equal(await store.users.findByLogin('two'), null)
      })

      t.test('findByLogin normalises the login it is given; unknown ones are null', async (t) => {
        const store = await open(t)
        const u = await store.users.create({ username: 'Dave', passwordHash: null })
        for (const login of ['dave', 'DAVE', ' Dave', 'ｄａｖｅ']) t.equal((await store.users.findByLogin(login))?.id, u.id, login)
        t.equal(await store.users.findByLogin('davey'), null)
        t.equal(await store.users.findById('nope'), null)
      })

      t.test('update changes only the given fields and bumps updatedAt', async (t) => {
        const store = await open(t)
        const u = await store.users.create({ username: 'erin', passwordHash: 'h1', roles: ['user'] })
        const v = await store.users.update(u.id, { roles: ['admin'], disabled: true })
        t.match(v, { id: u.id, username: 'erin', passwordHash: 'h1', roles: ['admin'], disabled: true })
        t.equal(v?.createdAt.getTime(), u.createdAt.getTime())
        t.ok((v?.updatedAt.getTime() ?? 0) >= u.updatedAt.getTime())
        const w = await store.users.update(u.id, { passwordHash: null })
        t.equal(w?.passwordHash, null)
        t.same(await store.users.findById(u.id), w)
        t.equal(await store.users.update('missing', { disabled: true }), null)
      })

      t.test('renaming onto a taken name is a conflict and changes nothing', async (t) => {
        const store = await open(t)
        await store.users.create({ username: 'frank', passwordHash: null })
        const g = await store.users.create({ username: 'grace', passwordHash: 'h', roles: ['user'] })
        await t.rejects(store.users.update(g.id, { username: 'FRANK', roles: ['admin'] }), { code: 'GK_CONFLICT' })
        t.same(await store.users.findById(g.id), g)
      })

      t.test('renaming moves the login: the new one finds the user, the old one is free', async (t) => {
        const store = await open(t)
        const u = await store.users.create({ username: 'heidi', passwordHash: null })
        const same = await store.users.update(u.id, { username: 'HEIDI' })
        t.equal(same?.username, 'HEIDI')
        await store.users.update(u.id, { username: 'ivan' })
        t.equal((await store.users.findByLogin('Ivan'))?.id, u.id)
        t.equal(await store.users.findByLogin('heidi'), null)
        t.ok(await store.users.create({ username: 'heidi', passwordHash: null }))
      })

      t.test('delete removes the user once and frees the name', async (t) => {
        const store = await open(t)
        const u = await store.users.create({ username: 'judy', passwordHash: null })
        t.equal(await store.users.delete(u.id), true)
        t.equal(await store.users.delete(u.id), false)
        t.equal(await store.users.findById(u.id), null)
        t.equal(await store.users.findByLogin('judy'), null)
        t.ok(await store.users.create({ username: 'Judy', passwordHash: null }))
      })
    })

    t.test('api keys', async (t) => {
      const newKey = (over: Partial<NewApiKey> = {}): NewApiKey => {
        const secret = `gk_${uniq()}${uniq()}`
        return { ownerId: 'owner-1', name: 'ci', start: secret.slice(0, 7), hash: sha(secret), ...over }
      }

      t.test('a created key reads back by hash and by id with its defaults', async (t) => {
        const store = await open(t)
        const input = newKey()
        const k = await store.apiKeys.create(input)
        t.match(k, { ownerId: 'owner-1', name: 'ci', start: input.start, hash: input.hash, scopes: [], expiresAt: null, revokedAt: null, lastUsedAt: null, rateLimit: null })
        t.ok(k.createdAt instanceof Date)
        t.same(await store.apiKeys.findByHash(input.hash), k)
        t.same(await store.apiKeys.findById(k.id), k)
        t.equal(await store.apiKeys.findByHash(sha('other')), null)
        t.equal(await store.apiKeys.findById('nope'), null)
      })

      t.test('scopes, expiry and a per-key rate limit round-trip', async (t) => {
        const store = await open(t)
        const expiresAt = new Date(Date.now() + HOUR)
        const k = await store.apiKeys.create(newKey({ id: 'k1', scopes: ['posts:read', 'posts:write'], expiresAt, rateLimit: { max: 100, timeWindow: 60_000 } }))
        t.same(await store.apiKeys.findById('k1'), k)
        t.same({ scopes: k.scopes, expiresAt: k.expiresAt, rateLimit: k.rateLimit }, { scopes: ['posts:read', 'posts:write'], expiresAt, rateLimit: { max: 100, timeWindow: 60_000 } })
      })

      t.test('a duplicate hash or id is a conflict', async (t) => {
        const store = await open(t)
        const input = newKey({ id: 'dup' })
        await store.apiKeys.create(input)
        await t.rejects(store.apiKeys.create(newKey({ hash: input.hash })), { code: 'GK_CONFLICT', statusCode: 409 })
        await t.rejects(store.apiKeys.create(newKey({ id: 'dup' })), { code: 'GK_CONFLICT', statusCode: 409 })
      })

      t.test('listByOwner gives every key of the owner, oldest first, revoked included', async (t) => {
        const store = await open(t)
        const ids: string[] = []
        for (let i = 0; i < 4; i++) ids.push((await store.apiKeys.create(newKey({ name: `k${i}` }))).id)
        await store.apiKeys.create(newKey({ ownerId: 'owner-2' }))
        await store.apiKeys.revoke(ids[1] ?? '', new Date())
        t.same((await store.apiKeys.listByOwner('owner-1')).map((k) => k.id), ids)
        t.same(await store.apiKeys.listByOwner('nobody'), [])
      })

      t.test('revoke sets revokedAt once; a second revoke and an unknown id give false', async (t) => {
        const store = await open(t)
        const k = await store.apiKeys.create(newKey())
        const at = new Date(Date.now() - 5000)
        t.equal(await store.apiKeys.revoke(k.id, at), true)
        t.equal(await store.apiKeys.revoke(k.id, new Date()), false)
        t.same((await store.apiKeys.findById(k.id))?.revokedAt, at)
        t.equal(await store.apiKeys.revoke('nope', at), false)
      })

      t.test('expire only ever lowers the expiry', async (t) => {
        const store = await open(t)
        const k = await store.apiKeys.create(newKey())
        const now = Date.now()
        const rows: Array<[number, number]> = [[now + 2 * HOUR, now + 2 * HOUR], [now + 5 * HOUR, now + 2 * HOUR], [now + HOUR, now + HOUR]]
        for (const [at, expected] of rows) {
          t.equal(await store.apiKeys.expire(k.id, new Date(at)), true)
          t.equal((await store.apiKeys.findById(k.id))?.expiresAt?.getTime(), expected)
        }
        t.equal(await store.apiKeys.expire('nope', new Date(now)), false)
      })

      t.test('touch records the last use; an unknown id is ignored', async (t) => {
        const store = await open(t)
        const k = await store.apiKeys.create(newKey())
        const at = new Date(Date.now() + 1234)
        await store.apiKeys.touch(k.id, at)
        t.same((await store.apiKeys.findById(k.id))?.lastUsedAt, at)
        await t.resolves(store.apiKeys.touch('nope', at))
      })
    })

    t.test('refresh tokens', async (t) => {
      const now = new Date()
      const later = (h: number): Date => new Date(now.getTime() + h * HOUR)
      async function login (store: GatekeeperStore, userId = 'user-1', familyExpiry = later(24), tokenExpiry = later(1)) {
        const secret = `rt_${uniq()}`
        const { family, token } = await store.refreshTokens.createFamily(
          { userId, expiresAt: familyExpiry, ip: '203.0.113.7', userAgent: 'curl/8' },
          { hash: sha(secret), expiresAt: tokenExpiry }
        )
        return { family, token, hash: sha(secret) }
      }

      t.test('createFamily stores a family and its first token', async (t) => {
        const store = await open(t)
        const { family, token, hash } = await login(store)
        t.match(family, { userId: 'user-1', expiresAt: later(24), revokedAt: null, revokeReason: null, ip: '203.0.113.7', userAgent: 'curl/8' })
        t.ok(family.createdAt instanceof Date && family.lastUsedAt instanceof Date)
        t.match(token, { hash, familyId: family.id, userId: 'user-1', parentId: null, expiresAt: later(1), consumedAt: null, replacedBy: null })
        t.same(await store.refreshTokens.findFamily(family.id), family)
        t.same(await store.refreshTokens.findByHash(hash), token)
        t.same(await store.refreshTokens.findById(token.id), token)
        t.equal(await store.refreshTokens.findByHash(sha('nope')), null)
        t.equal(await store.refreshTokens.findById('nope'), null)
        t.equal(await store.refreshTokens.findFamily('nope'), null)
      })

      t.test('a family bound to a DPoP key keeps its thumbprint; an unbound one has none', async (t) => {
        const store = await open(t)
        const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
        const bound = await store.refreshTokens.createFamily({ userId: 'user-1', expiresAt: later(24), jkt }, { hash: sha(`rt_${uniq()}`), expiresAt: later(1) })
        t.equal(bound.family.jkt, jkt)
        t.equal((await store.refreshTokens.findFamily(bound.family.id))?.jkt, jkt)
        const result = await store.refreshTokens.consume(bound.token.hash, now, { hash: sha(`rt_${uniq()}`), expiresAt: later(1) })
        t.equal(result.status === 'unknown' ? null : result.family.jkt, jkt, 'consume answers the family with its binding')
        const { family } = await login(store)
        t.equal(family.jkt ?? null, null)
      })

      t.test('createFamily is atomic: a taken token hash leaves no family behind', async (t) => {
        const store = await open(t)
        const { hash } = await login(store)
        await t.rejects(store.refreshTokens.createFamily({ id: 'f-dup', userId: 'user-1', expiresAt: later(24) }, { hash, expiresAt: later(1) }), { code: 'GK_CONFLICT' })
        t.equal(await store.refreshTokens.findFamily('f-dup'), null)
        t.equal((await store.refreshTokens.listActive('user-1', now)).length, 1)
      })

      t.test('consume without a successor gives ok once, then reused', async (t) => {
        const store = await open(t)
        const { family, token, hash } = await login(store)
        const first = await store.refreshTokens.consume(hash, now)
        t.match(first, { status: 'ok', successor: null, token: { id: token.id, consumedAt: now, replacedBy: null }, family: { id: family.id, lastUsedAt: now } })
        const again = await store.refreshTokens.consume(hash, now)
        t.match(again, { status: 'reused', token: { id: token.id, consumedAt: now }, family: { id: family.id } })
      })

      t.test('consume with a successor links both tokens and moves lastUsedAt', async (t) => {
        const store = await open(t)
        const { family, token, hash } = await login(store)
        const at = new Date(now.getTime() + 60_000)
        const res = await store.refreshTokens.consume(hash, at, { hash: sha('next'), expiresAt: later(2) })
        if (res.status !== 'ok' || res.successor === null) throw new Error(`expected ok with a successor, got ${res.status}`)
        t.match(res.successor, { hash: sha('next'), familyId: family.id, userId: 'user-1', parentId: token.id, expiresAt: later(2), consumedAt: null, replacedBy: null })
        t.equal(res.token.replacedBy, res.successor.id)
        t.same(res.token.consumedAt, at)
        t.same(res.family.lastUsedAt, at)
        t.same((await store.refreshTokens.findFamily(family.id))?.lastUsedAt, at)
        t.same(await store.refreshTokens.findByHash(sha('next')), res.successor)
        t.same(await store.refreshTokens.findById(token.id), res.token)
        t.match(await store.refreshTokens.consume(sha('next'), at), { status: 'ok' })
      })

      t.test('a successor whose hash is taken is a conflict and the token stays usable', async (t) => {
        const store = await open(t)
        const a = await login(store)
        const b = await login(store)
        await t.rejects(store.refreshTokens.consume(a.hash, now, { hash: b.hash, expiresAt: later(1) }), { code: 'GK_CONFLICT' })
        t.equal((await store.refreshTokens.findByHash(a.hash))?.consumedAt, null)
        t.match(await store.refreshTokens.consume(a.hash, now), { status: 'ok' })
      })

      t.test('unknown, expired and revoked give unknown, but a consumed token is always reused', async (t) => {
        const store = await open(t)
        t.same(await store.refreshTokens.consume(sha('never-issued'), now), { status: 'unknown' })
        const expired = await login(store, 'user-1', later(24), now)
        t.same(await store.refreshTokens.consume(expired.hash, now), { status: 'unknown' }, 'token expiry equal to now')
        const oldFamily = await login(store, 'user-1', later(2), later(3))
        t.same(await store.refreshTokens.consume(oldFamily.hash, later(2)), { status: 'unknown' }, 'family expired')
        const revoked = await login(store)
        await store.refreshTokens.revokeFamily(revoked.family.id, now, 'logout')
        t.same(await store.refreshTokens.consume(revoked.hash, now), { status: 'unknown' }, 'family revoked')

        const replayed = await login(store)
        await store.refreshTokens.consume(replayed.hash, now)
        await store.refreshTokens.revokeFamily(replayed.family.id, now, 'reuse')
        t.match(await store.refreshTokens.consume(replayed.hash, later(5)), { status: 'reused', family: { revokeReason: 'reuse' } }, 'consumed, revoked and expired')
      })

      t.test('50 concurrent consumers of one token: exactly one ok, 49 reused', async (t) => {
        const store = await open(t)
        const { hash } = await login(store)
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
          store.refreshTokens.consume(hash, now, { hash: sha(`succ-${i}`), expiresAt: later(1) })))
        const statuses = results.map((r) => r.status)
        t.equal(statuses.filter((s) => s === 'ok').length, 1)
        t.equal(statuses.filter((s) => s === 'reused').length, 49)
        const stored = await Promise.all(results.map((_, i) => store.refreshTokens.findByHash(sha(`succ-${i}`))))
        t.equal(stored.filter((s) => s !== null).length, 1, 'only the winner stored a successor')
      })

      t.test('revokeFamily revokes once with its reason', async (t) => {
        const store = await open(t)
        const { family } = await login(store)
        t.equal(await store.refreshTokens.revokeFamily(family.id, now, 'logout'), true)
        t.equal(await store.refreshTokens.revokeFamily(family.id, later(1), 'again'), false)
        t.match(await store.refreshTokens.findFamily(family.id), { revokedAt: now, revokeReason: 'logout' })
        t.equal(await store.refreshTokens.revokeFamily('nope', now, 'logout'), false)
      })

      t.test('revokeAllForUser counts the active families it revoked and spares other users', async (t) => {
        const store = await open(t)
        const a = await login(store, 'u-a')
        await login(store, 'u-a')
        const gone = await login(store, 'u-a')
        await store.refreshTokens.revokeFamily(gone.family.id, now, 'logout')
        await login(store, 'u-a', now)
        const other = await login(store, 'u-b')
        t.equal(await store.refreshTokens.revokeAllForUser('u-a', now, 'password_change'), 2)
        t.match(await store.refreshTokens.findFamily(a.family.id), { revokedAt: now, revokeReason: 'password_change' })
        t.match(await store.refreshTokens.findFamily(gone.family.id), { revokeReason: 'logout' })
        t.equal((await store.refreshTokens.findFamily(other.family.id))?.revokedAt, null)
        t.equal(await store.refreshTokens.revokeAllForUser('u-a', now, 'logout_all'), 0)
        t.equal(await store.refreshTokens.revokeAllForUser('nobody', now, 'logout_all'), 0)
      })

      t.test('listActive gives the user\'s live families, newest first', async (t) => {
        const store = await open(t)
        const ids: string[] = []
        for (let i = 0; i < 3; i++) ids.push((await login(store, 'u-l')).family.id)
        const revoked = await login(store, 'u-l')
        await store.refreshTokens.revokeFamily(revoked.family.id, now, 'logout')
        await login(store, 'u-l', now)
        await login(store, 'u-other')
        t.same((await store.refreshTokens.listActive('u-l', now)).map((f) => f.id), ids.reverse(), 'revoked and expiring-at-now families left out')
        t.same(await store.refreshTokens.listActive('nobody', now), [])
      })

      t.test('deleteExpired removes expired families with their tokens and expired tokens', async (t) => {
        const store = await open(t)
        const dead = await login(store, 'u-d', later(1), later(1))
        await store.refreshTokens.consume(dead.hash, now, { hash: sha('dead-next'), expiresAt: later(1) })
        const live = await login(store, 'u-d', later(48), later(1))
        const next = await store.refreshTokens.consume(live.hash, now, { hash: sha('live-next'), expiresAt: later(10) })
        t.equal(await store.refreshTokens.deleteExpired(now), 0)
        t.equal(await store.refreshTokens.deleteExpired(later(1)), 3, 'two tokens of the dead family, one expired token of the live one')
        t.equal(await store.refreshTokens.findFamily(dead.family.id), null)
        t.equal(await store.refreshTokens.findByHash(sha('dead-next')), null)
        t.equal(await store.refreshTokens.findByHash(live.hash), null)
        t.ok(await store.refreshTokens.findFamily(live.family.id))
        t.same(await store.refreshTokens.findByHash(sha('live-next')), next.status === 'ok' ? next.successor : null)
        t.equal(await store.refreshTokens.deleteExpired(later(1)), 0)
      })
    })

    if (opts.oauth !== false) {
      const clientsOf = (store: GatekeeperStore): OAuthClientRepository => {
        if (store.oauthClients === undefined) throw new Error(`${name} store has no oauthClients repository`)
        return store.oauthClients
      }
      const identitiesOf = (store: GatekeeperStore): IdentityRepository => {
        if (store.identities === undefined) throw new Error(`${name} store has no identities repository`)
        return store.identities
      }
      const client = (id: string, createdAt = new Date(Date.now() - HOUR)): OAuthClientRecord => ({
        id, name: `client ${id}`, secretHash: sha(`secret-${id}`), previousSecretHash: null, previousSecretExpiresAt: null, scopes: ['reports:read', 'reports:write'], createdAt, revokedAt: null
      })

      t.test('oauth clients', async (t) => {
        t.test('a created client reads back the same by id', async (t) => {
          const repo = clientsOf(await open(t))
          const c = client(`cid_${uniq()}`)
          t.same(await repo.create(c), c)
          t.same(await repo.findById(c.id), c)
          t.equal(await repo.findById('cid_nope'), null)
        })

        t.test('a taken id is a conflict and the first client is unchanged', async (t) => {
          const repo = clientsOf(await open(t))
          const c = client('cid_taken')
          await repo.create(c)
          await t.rejects(repo.create({ ...c, name: 'other', secretHash: sha('other') }), { code: 'GK_CONFLICT', statusCode: 409 })
          t.same(await repo.findById(c.id), c)
        })

        t.test('update changes only the given fields; null clears; an unknown id gives null', async (t) => {
          const repo = clientsOf(await open(t))
          const c = client('cid_upd')
          await repo.create(c)
          const until = new Date(Date.now() + HOUR)
          const rotated = await repo.update(c.id, { secretHash: sha('next'), previousSecretHash: c.secretHash, previousSecretExpiresAt: until })
          t.same(rotated, { ...c, secretHash: sha('next'), previousSecretHash: c.secretHash, previousSecretExpiresAt: until })
          t.same(await repo.findById(c.id), rotated)
          const revokedAt = new Date()
          const revoked = await repo.update(c.id, { revokedAt, previousSecretHash: null, previousSecretExpiresAt: null, name: 'renamed', scopes: ['reports:read'] })
          t.same(revoked, { ...c, secretHash: sha('next'), name: 'renamed', scopes: ['reports:read'], revokedAt })
          t.same(await repo.update(c.id, {}), revoked, 'an empty patch changes nothing')
          t.equal(await repo.update('cid_nope', { name: 'x' }), null)
        })

        t.test('list gives every client, revoked included, oldest first', async (t) => {
          const repo = clientsOf(await open(t))
          const base = Date.now() - 10 * HOUR
          for (const [i, id] of ['cid_b', 'cid_a', 'cid_c'].entries()) await repo.create(client(id, new Date(base + i * HOUR)))
          await repo.update('cid_a', { revokedAt: new Date() })
          t.same((await repo.list()).map((c) => c.id), ['cid_b', 'cid_a', 'cid_c'])
        })

        t.test('returned clients are copies', async (t) => {
          const repo = clientsOf(await open(t))
          const made = await repo.create(client('cid_copy'))
          made.scopes.push('*')
          made.createdAt.setTime(0)
          const found = await repo.findById('cid_copy')
          found?.scopes.push('*')
          ;(await repo.list())[0]?.scopes.push('*')
          t.same((await repo.findById('cid_copy'))?.scopes, ['reports:read', 'reports:write'])
          t.not((await repo.findById('cid_copy'))?.createdAt.getTime(), 0)
        })
      })

      t.test('identities', async (t) => {
        const link = (issuer: string, subject: string, userId: string, createdAt = new Date()): Parameters<IdentityRepository['create']>[0] =>
          ({ issuer, subject, userId, provider: 'corp', createdAt })

        t.test('a created link reads back by issuer + subject and by user', async (t) => {
          const repo = identitiesOf(await open(t))
          const l = link('https://sso.example', '248289761001', 'u1')
          t.same(await repo.create(l), l)
          t.same(await repo.find('https://sso.example', '248289761001'), l)
          t.same(await repo.listByUser('u1'), [l])
          t.same(await repo.listByUser('u2'), [])
        })

        t.test('issuer and subject are matched exactly: case, a trailing slash or another issuer is another identity', async (t) => {
          const repo = identitiesOf(await open(t))
          await repo.create(link('https://sso.example', 'Alice', 'u1'))
          for (const [issuer, subject] of [['https://sso.example', 'alice'], ['https://sso.example/', 'Alice'], ['https://SSO.example', 'Alice'], ['https://other.example', 'Alice']] as const) {
            t.equal(await repo.find(issuer, subject), null, `${issuer} ${subject}`)
          }
          // The pair is the key, not the concatenation: these two must not collide.
          await repo.create(link('https://a.example', 'b|c', 'u2'))
          await repo.create(link('https://a.example|b', 'c', 'u3'))
          t.equal((await repo.find('https://a.example', 'b|c'))?.userId, 'u2')
          t.equal((await repo.find('https://a.example|b', 'c'))?.userId, 'u3')
        })

        t.test('a linked pair is a conflict and keeps its user', async (t) => {
          const repo = identitiesOf(await open(t))
          await repo.create(link('https://sso.example', 's1', 'u1'))
          await t.rejects(repo.create(link('https://sso.example', 's1', 'u2')), { code: 'GK_CONFLICT', statusCode: 409 })
          t.equal((await repo.find('https://sso.example', 's1'))?.userId, 'u1')
          t.same(await repo.listByUser('u2'), [])
        })

        t.test('20 concurrent links of one identity: exactly one wins, the others conflict', async (t) => {
          const repo = identitiesOf(await open(t))
          const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => repo.create(link('https://sso.example', 'race', `u${i}`))))
          const won = results.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
          t.equal(won.length, 1)
          t.ok(results.every((r) => r.status === 'fulfilled' || Reflect.get(Object(r.reason), 'code') === 'GK_CONFLICT'), 'the losers get GK_CONFLICT')
          t.equal((await repo.find('https://sso.example', 'race'))?.userId, won[0]?.userId)
        })

        t.test('listByUser gives a user\'s links oldest first', async (t) => {
          const repo = identitiesOf(await open(t))
          const base = Date.now() - HOUR
          await repo.create(link('https://b.example', 's', 'u1', new Date(base + 2000)))
          await repo.create(link('https://a.example', 's', 'u1', new Date(base + 1000)))
          await repo.create(link('https://c.example', 's', 'u2', new Date(base)))
          t.same((await repo.listByUser('u1')).map((l) => l.issuer), ['https://a.example', 'https://b.example'])
        })

        t.test('delete removes a link once and frees the pair', async (t) => {
          const repo = identitiesOf(await open(t))
          await repo.create(link('https://sso.example', 's1', 'u1'))
          t.equal(await repo.delete('https://sso.example', 's1'), true)
          t.equal(await repo.delete('https://sso.example', 's1'), false)
          t.equal(await repo.find('https://sso.example', 's1'), null)
          t.same(await repo.listByUser('u1'), [])
          await t.resolves(repo.create(link('https://sso.example', 's1', 'u2')))
        })

        t.test('returned links are copies', async (t) => {
          const repo = identitiesOf(await open(t))
          const made = await repo.create(link('https://sso.example', 's1', 'u1'))
          made.userId = 'mallory'
          made.createdAt.setTime(0)
          const found = await repo.find('https://sso.example', 's1')
          if (found !== null) found.userId = 'mallory'
          t.equal((await repo.find('https://sso.example', 's1'))?.userId, 'u1')
          t.not((await repo.find('https://sso.example', 's1'))?.createdAt.getTime(), 0)
        })
      })
    }

    if (opts.accounts !== false) accountsConformance(t, name, open)
    if (opts.mfa !== false) mfaConformance(t, name, open)

    t.test('returned records are copies', async (t) => {
      const store = await open(t)
      const u = await store.users.create({ username: 'mallory', passwordHash: null, roles: ['user'] })
      u.roles.push('admin')
      u.createdAt.setTime(0)
      u.username = 'root'
      t.same((await store.users.findById(u.id))?.roles, ['user'])
      t.not((await store.users.findById(u.id))?.createdAt.getTime(), 0)
      const found = await store.users.findByLogin('mallory')
      found?.roles.push('admin')
      t.same((await store.users.findByLogin('mallory'))?.roles, ['user'])

      const k = await store.apiKeys.create({ ownerId: 'o', name: 'n', start: 'gk_abc', hash: sha('copy'), scopes: ['a'], rateLimit: { max: 1, timeWindow: 1000 } })
      k.scopes.push('*')
      if (k.rateLimit !== null) k.rateLimit.max = 1e9
      t.same((await store.apiKeys.findById(k.id))?.scopes, ['a'])
      t.same((await store.apiKeys.findById(k.id))?.rateLimit, { max: 1, timeWindow: 1000 })
      const listed = await store.apiKeys.listByOwner('o')
      listed[0]?.scopes.push('*')
      t.same((await store.apiKeys.findByHash(sha('copy')))?.scopes, ['a'])

      const expiresAt = new Date(Date.now() + HOUR)
      const { family, token } = await store.refreshTokens.createFamily({ userId: 'o', expiresAt }, { hash: sha('copy-rt'), expiresAt })
      family.expiresAt.setTime(0)
      token.expiresAt.setTime(0)
      t.same((await store.refreshTokens.findFamily(family.id))?.expiresAt, expiresAt)
      t.same((await store.refreshTokens.findByHash(sha('copy-rt')))?.expiresAt, expiresAt)
    })

    t.test('close is safe to call twice', async (t) => {
      const store = await makeStore()
      await store.init?.()
      await store.close()
      await t.resolves(store.close())
    })
  })
}
