import t from 'tap'
import { Rotation, type RotationDeps, type TokenUser } from '../../lib/refresh/rotation.js'
import { deriveSuccessorKey, generateToken, hashToken } from '../../lib/refresh/token.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore, RefreshTokenRepository } from '../../lib/stores/types.js'

const DAY = 86_400_000
const client = { ip: '203.0.113.7', userAgent: 'test-agent' }

async function setup (over: Partial<RotationDeps> = {}, store: GatekeeperStore = memoryStore()) {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const user = await store.users.create({ username: 'alice', passwordHash: 'phc', roles: ['user'] })
  const issued: TokenUser[] = []
  const rotation = new Rotation({
    tokens: store.refreshTokens,
    users: store.users,
    now: () => clock.now,
    ttlMs: 30 * DAY,
    idleMs: 7 * DAY,
    graceMs: 0,
    successorKey: null,
    issueAccess: async (u) => { issued.push(u); return { accessToken: `at-${issued.length}`, tokenType: 'Bearer', expiresIn: 900 } },
    ...over
  })
  return { store, repo: store.refreshTokens, clock, user, rotation, issued }
}

t.test('a login opens a family whose first token expires at the idle limit', async (t) => {
  const { repo, clock, user, rotation } = await setup()
  const s = await rotation.start(user.id, client)
  const family = await repo.findFamily(s.familyId)
  t.match(family, { userId: user.id, ip: client.ip, userAgent: client.userAgent, revokedAt: null })
  t.equal(family?.expiresAt.getTime(), clock.now + 30 * DAY)
  t.equal(s.expiresAt.getTime(), clock.now + 7 * DAY)
  t.match(await repo.findByHash(hashToken(s.refreshToken)), { familyId: s.familyId, parentId: null })
})

t.test('the first token never outlives its family', async (t) => {
  const { clock, user, rotation } = await setup({ ttlMs: DAY, idleMs: DAY })
  const s = await rotation.start(user.id, client)
  t.equal(s.expiresAt.getTime(), clock.now + DAY)
})

t.test('a refresh consumes the token, issues a successor and an access token for the current user', async (t) => {
  const { repo, store, clock, user, rotation, issued } = await setup()
  const s = await rotation.start(user.id, client)
  clock.now += DAY
  await store.users.update(user.id, { roles: ['editor'] })
  const r = await rotation.rotate(s.refreshToken)
  t.match(r, { status: 'ok', familyId: s.familyId, userId: user.id, replay: false, access: { accessToken: 'at-1' } })
  if (r.status !== 'ok') return
  t.not(r.refreshToken, s.refreshToken)
  t.equal(r.expiresAt.getTime(), clock.now + 7 * DAY, 'the idle expiry moves with each refresh')
  t.same(issued[0]?.roles, ['editor'], 'roles come from the store, not from the old token')
  t.notOk('passwordHash' in (issued[0] as object), 'the issuer never sees the password hash')
  t.match(await repo.findByHash(hashToken(s.refreshToken)), { consumedAt: new Date(clock.now) })
  t.match(await repo.findByHash(hashToken(r.refreshToken)), { consumedAt: null, familyId: s.familyId })
  t.equal((await repo.findFamily(s.familyId))?.lastUsedAt.getTime(), clock.now)
})

t.test('malformed input is refused before any store read', async (t) => {
  const { store, user } = await setup()
  let reads = 0
  const counting = new Proxy(store.refreshTokens, {
    get (target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? (...args: unknown[]) => { reads++; return v.apply(target, args) } : v
    }
  }) as RefreshTokenRepository
  const { rotation } = await setup({ tokens: counting, users: store.users })
  for (const bad of [undefined, null, 7, '', 'x'.repeat(43), 'a.b.c', generateToken() + '=', { t: 1 }]) {
    t.same(await rotation.rotate(bad), { status: 'invalid', reason: 'malformed' })
  }
  t.equal(reads, 0)
  t.ok(user)
})

t.test('unknown, idle-expired and family-expired tokens are invalid', async (t) => {
  const { clock, user, rotation } = await setup({ ttlMs: 10 * DAY, idleMs: 2 * DAY })
  t.same(await rotation.rotate(generateToken()), { status: 'invalid', reason: 'unknown' })

  const idle = await rotation.start(user.id, client)
  clock.now += 2 * DAY
  t.same(await rotation.rotate(idle.refreshToken), { status: 'invalid', reason: 'unknown' }, 'a token unused for idleTtl has expired')

  let s = await rotation.start(user.id, client)
  for (let i = 0; i < 9; i++) {
    clock.now += DAY
    const r = await rotation.rotate(s.refreshToken)
    if (r.status !== 'ok') return t.fail(`refresh ${i} failed`)
    t.ok(r.expiresAt.getTime() <= clock.now + (10 - i - 1) * DAY + DAY, 'the expiry never passes the family\'s')
    s = { ...s, refreshToken: r.refreshToken }
  }
  clock.now += DAY
  t.same(await rotation.rotate(s.refreshToken), { status: 'invalid', reason: 'unknown' }, 'a session in use still ends at ttl')
})

t.test('a consumed token presented again revokes the family and raises one alarm', async (t) => {
  const { repo, user, rotation } = await setup()
  const s = await rotation.start(user.id, client)
  const r = await rotation.rotate(s.refreshToken)
  if (r.status !== 'ok') return t.fail('refresh failed')
  t.same(await rotation.rotate(s.refreshToken), { status: 'reuse', familyId: s.familyId, userId: user.id, alarm: true })
  t.match(await repo.findFamily(s.familyId), { revokeReason: 'reuse' })
  t.same(await rotation.rotate(r.refreshToken), { status: 'invalid', reason: 'unknown' }, 'the successor died with its family')
  t.same(await rotation.rotate(s.refreshToken), { status: 'reuse', familyId: s.familyId, userId: user.id, alarm: false }, 'a second replay is reuse again but no second alarm')
})

t.test('a replay into a family ended by logout still raises the alarm', async (t) => {
  const { repo, clock, user, rotation } = await setup()
  const s = await rotation.start(user.id, client)
  await rotation.rotate(s.refreshToken)
  await repo.revokeFamily(s.familyId, new Date(clock.now), 'logout')
  t.match(await rotation.rotate(s.refreshToken), { status: 'reuse', alarm: true })
})

t.test('a disabled or deleted user cannot refresh, and loses the session', async (t) => {
  for (const change of ['disable', 'delete'] as const) {
    const { store, repo, user, rotation } = await setup()
    const s = await rotation.start(user.id, client)
    if (change === 'disable') await store.users.update(user.id, { disabled: true })
    else await store.users.delete(user.id)
    t.same(await rotation.rotate(s.refreshToken), { status: 'invalid', reason: 'user' }, change)
    t.match(await repo.findFamily(s.familyId), { revokeReason: 'user_disabled' }, change)
  }
})

t.test('inside the grace window the just-rotated token gets the same successor again', async (t) => {
  const { repo, clock, user, rotation, issued } = await setup({ graceMs: 10_000, successorKey: deriveSuccessorKey('g'.repeat(32)) })
  const s = await rotation.start(user.id, client)
  const first = await rotation.rotate(s.refreshToken)
  if (first.status !== 'ok') return t.fail('refresh failed')
  clock.now += 9_999
  const again = await rotation.rotate(s.refreshToken)
  t.match(again, { status: 'ok', refreshToken: first.refreshToken, familyId: s.familyId, replay: true })
  t.equal(issued.length, 2, 'with a fresh access token')
  t.equal((await repo.findByHash(hashToken(first.refreshToken)))?.consumedAt, null, 'the successor is still unused')
  const stored = JSON.stringify(await repo.findByHash(hashToken(first.refreshToken)))
  t.notOk(stored.includes(first.refreshToken), 'the successor is stored only as its hash')
})

t.test('the grace window ends exactly at reuseGrace', async (t) => {
  const { clock, user, rotation } = await setup({ graceMs: 10_000, successorKey: deriveSuccessorKey('g'.repeat(32)) })
  const s = await rotation.start(user.id, client)
  await rotation.rotate(s.refreshToken)
  clock.now += 10_000
  t.match(await rotation.rotate(s.refreshToken), { status: 'reuse', alarm: true })
})

t.test('the grace covers only the most recent rotation', async (t) => {
  const { user, rotation } = await setup({ graceMs: 10_000, successorKey: deriveSuccessorKey('g'.repeat(32)) })
  const s = await rotation.start(user.id, client)
  const first = await rotation.rotate(s.refreshToken)
  if (first.status !== 'ok') return t.fail('refresh failed')
  const second = await rotation.rotate(first.refreshToken)
  t.equal(second.status, 'ok')
  t.match(await rotation.rotate(s.refreshToken), { status: 'reuse', alarm: true }, 'a grandparent is theft even inside the window')
  t.match(await rotation.rotate(first.refreshToken), { status: 'reuse', alarm: false }, 'and the family is gone')
})

t.test('no grace replay into a revoked family or for a disabled user', async (t) => {
  const { store, repo, clock, user, rotation } = await setup({ graceMs: 10_000, successorKey: deriveSuccessorKey('g'.repeat(32)) })
  const a = await rotation.start(user.id, client)
  await rotation.rotate(a.refreshToken)
  await repo.revokeFamily(a.familyId, new Date(clock.now), 'logout')
  t.match(await rotation.rotate(a.refreshToken), { status: 'reuse' })

  const b = await rotation.start(user.id, client)
  await rotation.rotate(b.refreshToken)
  await store.users.update(user.id, { disabled: true })
  t.same(await rotation.rotate(b.refreshToken), { status: 'invalid', reason: 'user' })
})

t.test('a successor that was not derived (rotated before the grace was on) is not replayed', async (t) => {
  const store = memoryStore()
  const plain = await setup({}, store)
  const s = await plain.rotation.start(plain.user.id, client)
  await plain.rotation.rotate(s.refreshToken)
  const graced = new Rotation({
    tokens: store.refreshTokens,
    users: store.users,
    now: () => plain.clock.now,
    ttlMs: 30 * DAY,
    idleMs: 7 * DAY,
    graceMs: 10_000,
    successorKey: deriveSuccessorKey('g'.repeat(32)),
    issueAccess: async () => ({ accessToken: 'x', tokenType: 'Bearer', expiresIn: 1 })
  })
  t.match(await graced.rotate(s.refreshToken), { status: 'reuse' })
})

t.test('a grace window without a key is a programming error', async (t) => {
  t.throws(() => new Rotation({ graceMs: 1 } as RotationDeps), TypeError)
})

t.test('a store failing during a refresh writes nothing: the retry is accepted, not taken for reuse (Postgres stopped mid-rotation)', async (t) => {
  const store = memoryStore()
  let failNext = false
  const users = {
    findById: async (id: string) => {
      if (failNext) {
        failNext = false
        throw Object.assign(new Error('Authentication store unavailable'), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
      }
      return await store.users.findById(id)
    }
  }
  const { user, rotation, repo } = await setup({ users }, store)
  const s = await rotation.start(user.id, client)
  failNext = true
  await t.rejects(rotation.rotate(s.refreshToken), { code: 'GK_STORE_UNAVAILABLE' }, 'the client gets a 503 …')
  t.match(await repo.findByHash(hashToken(s.refreshToken)), { consumedAt: null }, '… and the token is not consumed')
  const retry = await rotation.rotate(s.refreshToken)
  t.match(retry, { status: 'ok', familyId: s.familyId }, 'so its retry rotates it')
  t.equal((await repo.findFamily(s.familyId))?.revokedAt, null, 'and the session lives on')
})
