import { randomUUID } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import { errors } from '../../core/errors.js'
import {
  assertStorableName,
  isStorableName,
  normalizeEmail,
  normalizeLogin,
  type ApiKeyRepository, type ConsumeResult, type NewRefreshToken, type RefreshTokenRepository, type UserRepository
} from '../types.js'
import { isUniqueViolation, mapSqliteError } from './errors.js'
import { ms, toApiKey, toFamily, toToken, toUser, type ApiKeyRow, type FamilyRow, type TokenRow, type UserRow } from './rows.js'
import { present } from '../decode.js'

type Conflict = string | ((err: unknown) => string)

/** Runs a synchronous driver call as a store method: driver errors become GK_ errors. */
export function guarded<A extends unknown[], R> (conflict: Conflict, fn: (...args: A) => R): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    try {
      return fn(...args)
    } catch (err) {
      if (isUniqueViolation(err) && typeof conflict === 'function') throw new errors.GK_CONFLICT(conflict(err))
      throw mapSqliteError(err, typeof conflict === 'string' ? conflict : 'already exists')
    }
  }
}

const mentions = (err: unknown, what: string): boolean => err instanceof Error && err.message.includes(what)

/** The three repositories over an open, migrated database. */
export function sqliteRepositories (db: Database): { users: UserRepository, apiKeys: ApiKeyRepository, refreshTokens: RefreshTokenRepository } {
  const q = {
    userById: db.prepare<[string], UserRow>('SELECT * FROM gk_users WHERE id = ?'),
    userByLogin: db.prepare<[string], UserRow>('SELECT * FROM gk_users WHERE login = ?'),
    userByEmail: db.prepare<[string], UserRow>('SELECT * FROM gk_users WHERE email_normalized = ?'),
    insertUser: db.prepare(`INSERT INTO gk_users (id, username, login, password_hash, roles, disabled, email, email_normalized, email_verified_at, created_at, updated_at)
      VALUES (@id, @username, @login, @passwordHash, @roles, @disabled, @email, @emailNormalized, @emailVerifiedAt, @now, @now)`),
    updateUser: db.prepare(`UPDATE gk_users SET username = @username, login = @login, password_hash = @passwordHash, roles = @roles, disabled = @disabled,
      email = @email, email_normalized = @emailNormalized, email_verified_at = @emailVerifiedAt, updated_at = @now WHERE id = @id`),
    deleteUser: db.prepare('DELETE FROM gk_users WHERE id = ?'),

    keyByHash: db.prepare<[string], ApiKeyRow>('SELECT * FROM gk_api_keys WHERE hash = ?'),
    keyById: db.prepare<[string], ApiKeyRow>('SELECT * FROM gk_api_keys WHERE id = ?'),
    keysByOwner: db.prepare<[string], ApiKeyRow>('SELECT * FROM gk_api_keys WHERE owner_id = ? ORDER BY created_at, rowid'),
    insertKey: db.prepare(`INSERT INTO gk_api_keys (id, owner_id, name, start, hash, scopes, expires_at, created_at, rate_limit_max, rate_limit_window)
      VALUES (@id, @ownerId, @name, @start, @hash, @scopes, @expiresAt, @now, @rateMax, @rateWindow)`),
    revokeKey: db.prepare('UPDATE gk_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    expireKey: db.prepare('UPDATE gk_api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > @at THEN @at ELSE expires_at END WHERE id = @id'),
    touchKey: db.prepare('UPDATE gk_api_keys SET last_used_at = ? WHERE id = ?'),

    familyById: db.prepare<[string], FamilyRow>('SELECT * FROM gk_refresh_families WHERE id = ?'),
    insertFamily: db.prepare(`INSERT INTO gk_refresh_families (id, user_id, created_at, last_used_at, expires_at, ip, user_agent, auth_time, amr, jkt)
      VALUES (@id, @userId, @now, @now, @expiresAt, @ip, @userAgent, @authTime, @amr, @jkt)`),
    reauthenticate: db.prepare('UPDATE gk_refresh_families SET auth_time = ?, amr = ? WHERE id = ? AND revoked_at IS NULL'),
    touchFamily: db.prepare('UPDATE gk_refresh_families SET last_used_at = ? WHERE id = ?'),
    revokeFamily: db.prepare('UPDATE gk_refresh_families SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL'),
    revokeUser: db.prepare('UPDATE gk_refresh_families SET revoked_at = @at, revoke_reason = @reason WHERE user_id = @userId AND revoked_at IS NULL AND expires_at > @at'),
    listActive: db.prepare<[string, number], FamilyRow>('SELECT * FROM gk_refresh_families WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, rowid DESC'),
    deleteFamilies: db.prepare('DELETE FROM gk_refresh_families WHERE expires_at <= ?'),

    tokenByHash: db.prepare<[string], TokenRow>('SELECT * FROM gk_refresh_tokens WHERE hash = ?'),
    tokenById: db.prepare<[string], TokenRow>('SELECT * FROM gk_refresh_tokens WHERE id = ?'),
    insertToken: db.prepare(`INSERT INTO gk_refresh_tokens (id, hash, family_id, user_id, parent_id, created_at, expires_at)
      VALUES (@id, @hash, @familyId, @userId, @parentId, @now, @expiresAt)`),
    markConsumed: db.prepare('UPDATE gk_refresh_tokens SET consumed_at = ?, replaced_by = ? WHERE id = ? AND consumed_at IS NULL'),
    deleteTokens: db.prepare('DELETE FROM gk_refresh_tokens WHERE expires_at <= @now OR family_id IN (SELECT id FROM gk_refresh_families WHERE expires_at <= @now)')
  }

  const userConflict = (err: unknown): string =>
    mentions(err, 'gk_users.login') ? 'username already taken' : mentions(err, 'gk_users.email_normalized') ? 'email already taken' : 'user id already taken'
  const emailOf = (email: string | null | undefined): string | null => email == null ? null : normalizeEmail(email)
  const familyConflict = (err: unknown): string => mentions(err, 'gk_refresh_families') ? 'refresh family already exists' : 'refresh token already exists'

  const users: UserRepository = {
    create: guarded(userConflict, (input) => {
      assertStorableName(input.username)
      const id = input.id ?? randomUUID()
      q.insertUser.run({
        id,
        username: input.username,
        login: normalizeLogin(input.username),
        passwordHash: input.passwordHash,
        roles: JSON.stringify(input.roles ?? []),
        disabled: input.disabled === true ? 1 : 0,
        email: input.email ?? null,
        emailNormalized: emailOf(input.email),
        emailVerifiedAt: ms(input.emailVerifiedAt),
        now: Date.now()
      })
      return toUser(present(q.userById.get(id), 'user'))
    }),
    findById: guarded('', (id) => {
      const row = q.userById.get(id)
      return row === undefined ? null : toUser(row)
    }),
    findByLogin: guarded('', (login) => {
      if (!isStorableName(login)) return null
      const row = q.userByLogin.get(normalizeLogin(login))
      return row === undefined ? null : toUser(row)
    }),
    findByEmail: guarded('', (email) => {
      if (!isStorableName(email)) return null
      const row = q.userByEmail.get(normalizeEmail(email))
      return row === undefined ? null : toUser(row)
    }),
    update: guarded(userConflict, (id, patch) => db.transaction(() => {
      const row = q.userById.get(id)
      if (row === undefined) return null
      const username = patch.username ?? row.username
      if (patch.username !== undefined) assertStorableName(username)
      q.updateUser.run({
        id,
        username,
        login: normalizeLogin(username),
        passwordHash: patch.passwordHash === undefined ? row.password_hash : patch.passwordHash,
        roles: patch.roles === undefined ? row.roles : JSON.stringify(patch.roles),
        disabled: patch.disabled === undefined ? row.disabled : (patch.disabled ? 1 : 0),
        email: patch.email === undefined ? row.email : patch.email,
        emailNormalized: patch.email === undefined ? row.email_normalized : emailOf(patch.email),
        emailVerifiedAt: patch.emailVerifiedAt === undefined ? row.email_verified_at : ms(patch.emailVerifiedAt),
        now: Date.now()
      })
      return toUser(present(q.userById.get(id), 'user'))
    }).immediate()),
    delete: guarded('', (id) => q.deleteUser.run(id).changes > 0)
  }

  const apiKeys: ApiKeyRepository = {
    create: guarded('api key already exists', (input) => {
      const id = input.id ?? randomUUID()
      q.insertKey.run({
        id,
        ownerId: input.ownerId,
        name: input.name,
        start: input.start,
        hash: input.hash,
        scopes: JSON.stringify(input.scopes ?? []),
        expiresAt: ms(input.expiresAt),
        now: Date.now(),
        rateMax: input.rateLimit?.max ?? null,
        rateWindow: input.rateLimit?.timeWindow ?? null
      })
      return toApiKey(present(q.keyById.get(id), 'API key'))
    }),
    findByHash: guarded('', (hash) => {
      const row = q.keyByHash.get(hash)
      return row === undefined ? null : toApiKey(row)
    }),
    findById: guarded('', (id) => {
      const row = q.keyById.get(id)
      return row === undefined ? null : toApiKey(row)
    }),
    listByOwner: guarded('', (ownerId) => q.keysByOwner.all(ownerId).map(toApiKey)),
    revoke: guarded('', (id, at) => q.revokeKey.run(at.getTime(), id).changes === 1),
    expire: guarded('', (id, at) => q.expireKey.run({ id, at: at.getTime() }).changes > 0),
    touch: guarded('', (id, at) => { q.touchKey.run(at.getTime(), id) })
  }

  function insertToken (input: NewRefreshToken, now: number): string {
    const id = input.id ?? randomUUID()
    q.insertToken.run({ id, hash: input.hash, familyId: input.familyId, userId: input.userId, parentId: input.parentId, now, expiresAt: input.expiresAt.getTime() })
    return id
  }

  // IMMEDIATE takes the write lock before the first read, so a second process
  // waits (busy_timeout) and then sees the token consumed: exactly once.
  const consume = db.transaction((hash: string, now: number, successor?: Omit<NewRefreshToken, 'familyId' | 'userId' | 'parentId'>): ConsumeResult => {
    const token = q.tokenByHash.get(hash)
    const family = token === undefined ? undefined : q.familyById.get(token.family_id)
    if (token === undefined || family === undefined) return { status: 'unknown' }
    if (token.consumed_at !== null) return { status: 'reused', token: toToken(token), family: toFamily(family) }
    if (family.revoked_at !== null || family.expires_at <= now || token.expires_at <= now) return { status: 'unknown' }
    const nextId = successor === undefined ? null : (successor.id ?? randomUUID())
    if (q.markConsumed.run(now, nextId, token.id).changes !== 1) {
      // Unreachable under the IMMEDIATE lock; kept so a weaker isolation can never yield two `ok`.
      return { status: 'reused', token: toToken(present(q.tokenById.get(token.id), 'refresh token')), family: toFamily(family) }
    }
    if (successor !== undefined && nextId !== null) insertToken({ ...successor, id: nextId, familyId: family.id, userId: family.user_id, parentId: token.id }, now)
    q.touchFamily.run(now, family.id)
    return {
      status: 'ok',
      token: toToken(present(q.tokenById.get(token.id), 'refresh token')),
      family: toFamily(present(q.familyById.get(family.id), 'family')),
      successor: nextId === null ? null : toToken(present(q.tokenById.get(nextId), 'refresh token'))
    }
  })

  // Group commit: consumes that arrive in the same turn of the event loop
  // share one IMMEDIATE transaction, so one fsync under synchronous=FULL
  // instead of one each. Each runs in its own savepoint (a nested
  // transaction): one that throws rolls back alone. Every promise settles
  // only after the commit, so durability is what it was.
  type ConsumeArgs = [hash: string, now: number, successor?: Omit<NewRefreshToken, 'familyId' | 'userId' | 'parentId'>]
  interface Pending { args: ConsumeArgs, resolve: (r: ConsumeResult) => void, reject: (err: unknown) => void }
  let pending: Pending[] = []
  const runBatch = db.transaction((items: Pending[]) => items.map((p): { ok: ConsumeResult } | { err: unknown } => {
    try {
      return { ok: consume(...p.args) }
    } catch (err) {
      return { err }
    }
  }))
  const toStoreError = (err: unknown): unknown => isUniqueViolation(err) ? new errors.GK_CONFLICT('refresh token already exists') : mapSqliteError(err, 'refresh token already exists')
  function flush (): void {
    const items = pending
    pending = []
    let results: Array<{ ok: ConsumeResult } | { err: unknown }>
    try {
      results = runBatch.immediate(items)
    } catch (err) {
      for (const p of items) p.reject(toStoreError(err))
      return
    }
    items.forEach((p, i) => {
      const r = results[i]
      if ('ok' in r) p.resolve(r.ok)
      else p.reject(toStoreError(r.err))
    })
  }

  const refreshTokens: RefreshTokenRepository = {
    createFamily: guarded(familyConflict, (input, first) => db.transaction(() => {
      const id = input.id ?? randomUUID()
      const now = Date.now()
      q.insertFamily.run({
        id,
        userId: input.userId,
        now,
        expiresAt: input.expiresAt.getTime(),
        ip: input.ip ?? null,
        userAgent: input.userAgent ?? null,
        authTime: input.authTime == null ? now : input.authTime.getTime(),
        amr: input.amr == null ? null : JSON.stringify(input.amr),
        jkt: input.jkt ?? null
      })
      const tokenId = insertToken({ ...first, familyId: id, userId: input.userId, parentId: null }, now)
      return { family: toFamily(present(q.familyById.get(id), 'family')), token: toToken(present(q.tokenById.get(tokenId), 'refresh token')) }
    }).immediate()),
    consume: (hash, now, successor) => new Promise<ConsumeResult>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush)
      pending.push({ args: [hash, now.getTime(), successor], resolve, reject })
    }),
    findByHash: guarded('', (hash) => {
      const row = q.tokenByHash.get(hash)
      return row === undefined ? null : toToken(row)
    }),
    findById: guarded('', (id) => {
      const row = q.tokenById.get(id)
      return row === undefined ? null : toToken(row)
    }),
    findFamily: guarded('', (id) => {
      const row = q.familyById.get(id)
      return row === undefined ? null : toFamily(row)
    }),
    revokeFamily: guarded('', (familyId, at, reason) => q.revokeFamily.run(at.getTime(), reason, familyId).changes === 1),
    revokeAllForUser: guarded('', (userId, at, reason) => q.revokeUser.run({ userId, at: at.getTime(), reason }).changes),
    listActive: guarded('', (userId, now) => q.listActive.all(userId, now.getTime()).map(toFamily)),
    deleteExpired: guarded('', (now) => db.transaction(() => {
      const t = now.getTime()
      const n = q.deleteTokens.run({ now: t }).changes
      q.deleteFamilies.run(t)
      return n
    }).immediate()),
    reauthenticate: guarded('', (familyId, authTime, amr) => q.reauthenticate.run(authTime.getTime(), JSON.stringify(amr), familyId).changes === 1)
  }

  return { users, apiKeys, refreshTokens }
}
