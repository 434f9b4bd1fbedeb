import { randomUUID } from 'node:crypto'
import { errors } from '../core/errors.js'
import { memoryAccountTokens } from './memory/account-tokens.js'
import { memoryMfa } from './memory/mfa.js'
import {
  assertStorableName,
  isStorableName,
  normalizeEmail,
  normalizeLogin,
  type ApiKeyRecord, type ApiKeyRepository, type ConsumeResult, type GatekeeperStore, type IdentityRecord,
  type IdentityRepository, type NewApiKey, type NewRefreshFamily, type NewRefreshToken, type NewUser,
  type OAuthClientRecord, type OAuthClientRepository, type RefreshFamilyRecord, type RefreshTokenRecord,
  type RefreshTokenRepository, type UserPatch, type UserRecord, type UserRepository
} from './types.js'

/**
 * A store that keeps everything in this process's memory: for tests and
 * demos. Nothing survives a restart and nothing is shared between instances.
 * Every method is atomic because JavaScript runs it without interleaving.
 */
export function memoryStore (): GatekeeperStore {
  const users = new Map<string, UserRecord>()
  const logins = new Map<string, string>()
  const emails = new Map<string, string>()
  const keys = new Map<string, ApiKeyRecord>()
  const keysByHash = new Map<string, string>()
  const families = new Map<string, RefreshFamilyRecord>()
  const tokens = new Map<string, RefreshTokenRecord>()
  const tokensByHash = new Map<string, string>()

  const copyUser = (u: UserRecord): UserRecord => ({
    ...u, roles: [...u.roles], emailVerifiedAt: u.emailVerifiedAt == null ? null : new Date(u.emailVerifiedAt), createdAt: new Date(u.createdAt), updatedAt: new Date(u.updatedAt)
  })
  const emailKey = (email: string | null | undefined): string | null => email == null ? null : normalizeEmail(email)
  const copyKey = (k: ApiKeyRecord): ApiKeyRecord => ({
    ...k,
    scopes: [...k.scopes],
    rateLimit: k.rateLimit === null ? null : { ...k.rateLimit },
    expiresAt: k.expiresAt && new Date(k.expiresAt),
    revokedAt: k.revokedAt && new Date(k.revokedAt),
    createdAt: new Date(k.createdAt),
    lastUsedAt: k.lastUsedAt && new Date(k.lastUsedAt)
  })
  const copyFamily = (f: RefreshFamilyRecord): RefreshFamilyRecord => ({
    ...f,
    createdAt: new Date(f.createdAt),
    lastUsedAt: new Date(f.lastUsedAt),
    expiresAt: new Date(f.expiresAt),
    revokedAt: f.revokedAt && new Date(f.revokedAt),
    authTime: f.authTime == null ? null : new Date(f.authTime),
    amr: f.amr == null ? null : [...f.amr]
  })
  const copyToken = (t: RefreshTokenRecord): RefreshTokenRecord => ({
    ...t, createdAt: new Date(t.createdAt), expiresAt: new Date(t.expiresAt), consumedAt: t.consumedAt && new Date(t.consumedAt)
  })

  const userRepo: UserRepository = {
    async create (input: NewUser) {
      assertStorableName(input.username)
      const login = normalizeLogin(input.username)
      const id = input.id ?? randomUUID()
      const mail = emailKey(input.email)
      if (logins.has(login)) throw new errors.GK_CONFLICT('username already taken')
      if (users.has(id)) throw new errors.GK_CONFLICT('user id already taken')
      if (mail !== null && emails.has(mail)) throw new errors.GK_CONFLICT('email already taken')
      const now = new Date()
      const user: UserRecord = {
        id,
        username: input.username,
        passwordHash: input.passwordHash,
        roles: [...(input.roles ?? [])],
        disabled: input.disabled ?? false,
        email: input.email ?? null,
        emailVerifiedAt: input.emailVerifiedAt == null ? null : new Date(input.emailVerifiedAt),
        createdAt: now,
        updatedAt: now
      }
      users.set(id, user)
      logins.set(login, id)
      if (mail !== null) emails.set(mail, id)
      return copyUser(user)
    },
    async findById (id) {
      const u = users.get(id)
      return u === undefined ? null : copyUser(u)
    },
    async findByLogin (login) {
      if (!isStorableName(login)) return null
      const id = logins.get(normalizeLogin(login))
      const u = id === undefined ? undefined : users.get(id)
      return u === undefined ? null : copyUser(u)
    },
    async findByEmail (email) {
      if (!isStorableName(email)) return null
      const id = emails.get(normalizeEmail(email))
      const u = id === undefined ? undefined : users.get(id)
      return u === undefined ? null : copyUser(u)
    },
    async update (id, patch: UserPatch) {
      const u = users.get(id)
      if (u === undefined) return null
      if (patch.username !== undefined) assertStorableName(patch.username)
      // Every conflict is checked before anything changes: a refused update changes nothing.
      const nextLogin = patch.username === undefined ? null : normalizeLogin(patch.username)
      const prevLogin = normalizeLogin(u.username)
      if (nextLogin !== null && nextLogin !== prevLogin && logins.has(nextLogin)) throw new errors.GK_CONFLICT('username already taken')
      const nextMail = patch.email === undefined ? undefined : emailKey(patch.email)
      const prevMail = emailKey(u.email)
      if (nextMail != null && nextMail !== prevMail && emails.has(nextMail)) throw new errors.GK_CONFLICT('email already taken')
      if (patch.username !== undefined && nextLogin !== null) {
        if (nextLogin !== prevLogin) {
          logins.delete(prevLogin)
          logins.set(nextLogin, id)
        }
        u.username = patch.username
      }
      if (nextMail !== undefined) {
        if (prevMail !== null) emails.delete(prevMail)
        if (nextMail !== null) emails.set(nextMail, id)
        u.email = patch.email ?? null
      }
      if (patch.emailVerifiedAt !== undefined) u.emailVerifiedAt = patch.emailVerifiedAt === null ? null : new Date(patch.emailVerifiedAt)
      if (patch.passwordHash !== undefined) u.passwordHash = patch.passwordHash
      if (patch.roles !== undefined) u.roles = [...patch.roles]
      if (patch.disabled !== undefined) u.disabled = patch.disabled
      u.updatedAt = new Date()
      return copyUser(u)
    },
    async delete (id) {
      const u = users.get(id)
      if (u === undefined) return false
      users.delete(id)
      logins.delete(normalizeLogin(u.username))
      const mail = emailKey(u.email)
      if (mail !== null) emails.delete(mail)
      return true
    }
  }

  const keyRepo: ApiKeyRepository = {
    async create (input: NewApiKey) {
      const id = input.id ?? randomUUID()
      if (keysByHash.has(input.hash) || keys.has(id)) throw new errors.GK_CONFLICT('api key already exists')
      const key: ApiKeyRecord = {
        id,
        ownerId: input.ownerId,
        name: input.name,
        start: input.start,
        hash: input.hash,
        scopes: [...(input.scopes ?? [])],
        expiresAt: input.expiresAt ?? null,
        revokedAt: null,
        createdAt: new Date(),
        lastUsedAt: null,
        rateLimit: input.rateLimit ?? null
      }
      keys.set(id, key)
      keysByHash.set(key.hash, id)
      return copyKey(key)
    },
    async findByHash (hash) {
      const id = keysByHash.get(hash)
      const k = id === undefined ? undefined : keys.get(id)
      return k === undefined ? null : copyKey(k)
    },
    async findById (id) {
      const k = keys.get(id)
      return k === undefined ? null : copyKey(k)
    },
    async listByOwner (ownerId) {
      return [...keys.values()].filter((k) => k.ownerId === ownerId).map(copyKey)
    },
    async revoke (id, at) {
      const k = keys.get(id)
      if (k === undefined || k.revokedAt !== null) return false
      k.revokedAt = new Date(at)
      return true
    },
    async expire (id, at) {
      const k = keys.get(id)
      if (k === undefined) return false
      if (k.expiresAt === null || k.expiresAt.getTime() > at.getTime()) k.expiresAt = new Date(at)
      return true
    },
    async touch (id, at) {
      const k = keys.get(id)
      if (k !== undefined) k.lastUsedAt = new Date(at)
    }
  }

  function insertToken (input: NewRefreshToken, now: Date): RefreshTokenRecord {
    const id = input.id ?? randomUUID()
    if (tokensByHash.has(input.hash) || tokens.has(id)) throw new errors.GK_CONFLICT('refresh token already exists')
    const token: RefreshTokenRecord = {
      id,
      hash: input.hash,
      familyId: input.familyId,
      userId: input.userId,
      parentId: input.parentId,
      createdAt: new Date(now),
      expiresAt: new Date(input.expiresAt),
      consumedAt: null,
      replacedBy: null
    }
    tokens.set(id, token)
    tokensByHash.set(token.hash, id)
    return token
  }

  function deleteToken (t: RefreshTokenRecord): void {
    tokens.delete(t.id)
    tokensByHash.delete(t.hash)
  }

  const refreshRepo: RefreshTokenRepository = {
    async createFamily (input: NewRefreshFamily, first) {
      const id = input.id ?? randomUUID()
      if (families.has(id)) throw new errors.GK_CONFLICT('refresh family already exists')
      const now = new Date()
      const family: RefreshFamilyRecord = {
        id,
        userId: input.userId,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(input.expiresAt),
        revokedAt: null,
        revokeReason: null,
        ip: input.ip ?? null,
        userAgent: input.userAgent ?? null,
        authTime: input.authTime == null ? new Date(now) : new Date(input.authTime),
        amr: input.amr == null ? null : [...input.amr],
        jkt: input.jkt ?? null
      }
      const token = insertToken({ ...first, familyId: id, userId: input.userId, parentId: null }, now)
      families.set(id, family)
      return { family: copyFamily(family), token: copyToken(token) }
    },
    async consume (hash, now, successor): Promise<ConsumeResult> {
      const id = tokensByHash.get(hash)
      const token = id === undefined ? undefined : tokens.get(id)
      if (token === undefined) return { status: 'unknown' }
      const family = families.get(token.familyId)
      if (family === undefined) return { status: 'unknown' }
      if (token.consumedAt !== null) return { status: 'reused', token: copyToken(token), family: copyFamily(family) }
      const t = now.getTime()
      if (family.revokedAt !== null || family.expiresAt.getTime() <= t || token.expiresAt.getTime() <= t) return { status: 'unknown' }
      let next: RefreshTokenRecord | null = null
      if (successor !== undefined) {
        next = insertToken({ ...successor, familyId: family.id, userId: family.userId, parentId: token.id }, now)
        token.replacedBy = next.id
      }
      token.consumedAt = new Date(now)
      family.lastUsedAt = new Date(now)
      return { status: 'ok', token: copyToken(token), family: copyFamily(family), successor: next && copyToken(next) }
    },
    async findByHash (hash) {
      const id = tokensByHash.get(hash)
      const t = id === undefined ? undefined : tokens.get(id)
      return t === undefined ? null : copyToken(t)
    },
    async findById (id) {
      const t = tokens.get(id)
      return t === undefined ? null : copyToken(t)
    },
    async findFamily (id) {
      const f = families.get(id)
      return f === undefined ? null : copyFamily(f)
    },
    async revokeFamily (familyId, at, reason) {
      const f = families.get(familyId)
      if (f === undefined || f.revokedAt !== null) return false
      f.revokedAt = new Date(at)
      f.revokeReason = reason
      return true
    },
    async revokeAllForUser (userId, at, reason) {
      let n = 0
      for (const f of families.values()) {
        // Only active families count: an expired one is already dead and is not reported as revoked.
        if (f.userId === userId && f.revokedAt === null && f.expiresAt.getTime() > at.getTime()) {
          f.revokedAt = new Date(at)
          f.revokeReason = reason
          n++
        }
      }
      return n
    },
    async listActive (userId, now) {
      const t = now.getTime()
      // Reversed before the stable sort so that families created in the same millisecond stay newest first.
      return [...families.values()].reverse()
        .filter((f) => f.userId === userId && f.revokedAt === null && f.expiresAt.getTime() > t)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map(copyFamily)
    },
    async reauthenticate (familyId, authTime, amr) {
      const f = families.get(familyId)
      if (f === undefined || f.revokedAt !== null) return false
      f.authTime = new Date(authTime)
      f.amr = [...amr]
      return true
    },
    async deleteExpired (now) {
      const t = now.getTime()
      let n = 0
      const dead = new Set<string>()
      for (const f of families.values()) if (f.expiresAt.getTime() <= t) dead.add(f.id)
      for (const tok of [...tokens.values()]) {
        if (dead.has(tok.familyId) || tok.expiresAt.getTime() <= t) {
          deleteToken(tok)
          n++
        }
      }
      for (const id of dead) families.delete(id)
      return n
    }
  }

  return {
    users: userRepo,
    apiKeys: keyRepo,
    refreshTokens: refreshRepo,
    oauthClients: memoryClients(),
    identities: memoryIdentities(),
    accountTokens: memoryAccountTokens(),
    ...memoryMfa(),
    async close () {}
  }
}

function memoryClients (): OAuthClientRepository {
  const clients = new Map<string, OAuthClientRecord>()
  const copy = (c: OAuthClientRecord): OAuthClientRecord => ({
    ...c,
    scopes: [...c.scopes],
    createdAt: new Date(c.createdAt),
    revokedAt: c.revokedAt && new Date(c.revokedAt),
    previousSecretExpiresAt: c.previousSecretExpiresAt && new Date(c.previousSecretExpiresAt)
  })
  return {
    async create (client) {
      if (clients.has(client.id)) throw new errors.GK_CONFLICT('client id already taken')
      clients.set(client.id, copy(client))
      return copy(client)
    },
    async findById (id) {
      const c = clients.get(id)
      return c === undefined ? null : copy(c)
    },
    async update (id, patch) {
      const c = clients.get(id)
      if (c === undefined) return null
      const next = copy({
        ...c,
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.secretHash !== undefined && { secretHash: patch.secretHash }),
        ...(patch.previousSecretHash !== undefined && { previousSecretHash: patch.previousSecretHash }),
        ...(patch.previousSecretExpiresAt !== undefined && { previousSecretExpiresAt: patch.previousSecretExpiresAt }),
        ...(patch.scopes !== undefined && { scopes: patch.scopes }),
        ...(patch.revokedAt !== undefined && { revokedAt: patch.revokedAt })
      })
      clients.set(id, next)
      return copy(next)
    },
    async list () {
      // Oldest first; the sort is stable, so clients created in the same millisecond keep their order.
      return [...clients.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map(copy)
    }
  }
}

function memoryIdentities (): IdentityRepository {
  const links = new Map<string, IdentityRecord>()
  // A JSON pair: no separator an issuer or subject could contain makes two pairs collide.
  const key = (issuer: string, subject: string): string => JSON.stringify([issuer, subject])
  const copy = (r: IdentityRecord): IdentityRecord => ({ ...r, createdAt: new Date(r.createdAt) })
  return {
    async create (identity) {
      const k = key(identity.issuer, identity.subject)
      if (links.has(k)) throw new errors.GK_CONFLICT('identity already linked')
      links.set(k, copy(identity))
      return copy(identity)
    },
    async find (issuer, subject) {
      const r = links.get(key(issuer, subject))
      return r === undefined ? null : copy(r)
    },
    async listByUser (userId) {
      return [...links.values()].filter((r) => r.userId === userId)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map(copy)
    },
    async delete (issuer, subject) {
      return links.delete(key(issuer, subject))
    }
  }
}
