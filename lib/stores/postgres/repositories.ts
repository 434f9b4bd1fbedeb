import { randomUUID } from 'node:crypto'
import type { PgResult } from '../driver.js'
import {
  assertStorableName,
  isStorableName,
  normalizeEmail,
  normalizeLogin,
  type ApiKeyRepository, type ConsumeResult, type RefreshTokenRepository, type UserRepository
} from '../types.js'
import { isRecord, recordOf } from '../../core/json.js'
import { present } from '../decode.js'
import { toApiKey, toFamily, toToken, toUser } from './rows.js'

/** Runs one parameterised statement; driver errors come back as GK_ errors. */
export type Query = (text: string, values?: unknown[]) => Promise<PgResult>

/** What a unique violation means, by constraint name. */
export const CONFLICTS: Record<string, string> = {
  gk_users_login_key: 'username already taken',
  gk_users_pkey: 'user id already taken',
  gk_users_email_normalized_key: 'email already taken',
  gk_account_tokens_pkey: 'account token already exists',
  gk_account_tokens_hash_key: 'account token already exists',
  gk_api_keys_pkey: 'api key already exists',
  gk_api_keys_hash_key: 'api key already exists',
  gk_refresh_families_pkey: 'refresh family already exists',
  gk_refresh_tokens_pkey: 'refresh token already exists',
  gk_refresh_tokens_hash_key: 'refresh token already exists',
  gk_oauth_clients_pkey: 'client id already taken',
  gk_identities_pkey: 'identity already linked',
  gk_mfa_factors_pkey: 'factor already exists',
  gk_webauthn_credentials_pkey: 'credential already registered',
  gk_challenges_pkey: 'challenge already exists',
  gk_challenges_hash_key: 'challenge already exists'
}

/** The three repositories over a migrated schema (`s` is the quoted schema name). */
export function postgresRepositories (query: Query, s: string): { users: UserRepository, apiKeys: ApiKeyRepository, refreshTokens: RefreshTokenRepository } {
  const one = async <T>(text: string, values: unknown[], map: (r: Record<string, unknown>) => T): Promise<T | null> => {
    const { rows } = await query(text, values)
    return rows.length === 0 ? null : map(rows[0])
  }
  const created = async <T>(text: string, values: unknown[], map: (r: Record<string, unknown>) => T, what: string): Promise<T> =>
    map(present((await query(text, values)).rows.at(0), what))
  const count = async (text: string, values: unknown[]): Promise<number> => (await query(text, values)).rowCount ?? 0
  const emailOf = (email: string | null | undefined): string | null => email == null ? null : normalizeEmail(email)

  const users: UserRepository = {
    async create (input) {
      assertStorableName(input.username)
      const now = new Date()
      return await created(`INSERT INTO ${s}.gk_users (id, username, login, password_hash, roles, disabled, email, email_normalized, email_verified_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $10, $7, $7) RETURNING *`,
      [input.id ?? randomUUID(), input.username, normalizeLogin(input.username), input.passwordHash, input.roles ?? [], input.disabled === true, now,
        input.email ?? null, emailOf(input.email), input.emailVerifiedAt ?? null], toUser, 'user')
    },
    findById: (id) => one(`SELECT * FROM ${s}.gk_users WHERE id = $1`, [id], toUser),
    findByLogin: async (login) => isStorableName(login) ? await one(`SELECT * FROM ${s}.gk_users WHERE login = $1`, [normalizeLogin(login)], toUser) : null,
    findByEmail: async (email) => isStorableName(email) ? await one(`SELECT * FROM ${s}.gk_users WHERE email_normalized = $1`, [normalizeEmail(email)], toUser) : null,
    async update (id, patch) {
      const values: unknown[] = [id, new Date()]
      const sets = ['updated_at = $2']
      const set = (column: string, value: unknown): void => { values.push(value); sets.push(`${column} = $${values.length}`) }
      if (patch.username !== undefined) {
        assertStorableName(patch.username)
        set('username', patch.username)
        set('login', normalizeLogin(patch.username))
      }
      if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash)
      if (patch.roles !== undefined) set('roles', patch.roles)
      if (patch.disabled !== undefined) set('disabled', patch.disabled)
      if (patch.email !== undefined) {
        set('email', patch.email)
        set('email_normalized', emailOf(patch.email))
      }
      if (patch.emailVerifiedAt !== undefined) set('email_verified_at', patch.emailVerifiedAt)
      return await one(`UPDATE ${s}.gk_users SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, values, toUser)
    },
    delete: async (id) => await count(`DELETE FROM ${s}.gk_users WHERE id = $1`, [id]) > 0
  }

  const apiKeys: ApiKeyRepository = {
    async create (input) {
      return await created(`INSERT INTO ${s}.gk_api_keys (id, owner_id, name, start, hash, scopes, expires_at, created_at, rate_limit_max, rate_limit_window)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [input.id ?? randomUUID(), input.ownerId, input.name, input.start, input.hash, input.scopes ?? [], input.expiresAt ?? null, new Date(),
        input.rateLimit?.max ?? null, input.rateLimit?.timeWindow ?? null], toApiKey, 'API key')
    },
    findByHash: (hash) => one(`SELECT * FROM ${s}.gk_api_keys WHERE hash = $1`, [hash], toApiKey),
    findById: (id) => one(`SELECT * FROM ${s}.gk_api_keys WHERE id = $1`, [id], toApiKey),
    listByOwner: async (ownerId) => (await query(`SELECT * FROM ${s}.gk_api_keys WHERE owner_id = $1 ORDER BY created_at, seq`, [ownerId])).rows.map(toApiKey),
    revoke: async (id, at) => await count(`UPDATE ${s}.gk_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, [id, at]) === 1,
    expire: async (id, at) => await count(`UPDATE ${s}.gk_api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END WHERE id = $1`, [id, at]) > 0,
    async touch (id, at) {
      await query(`UPDATE ${s}.gk_api_keys SET last_used_at = $2 WHERE id = $1`, [id, at])
    }
  }

  const refreshTokens: RefreshTokenRepository = {
    async createFamily (input, first) {
      // One statement, so the family and its first token exist together or not at all.
      const { rows } = await query(`WITH f AS (
          INSERT INTO ${s}.gk_refresh_families (id, user_id, created_at, last_used_at, expires_at, ip, user_agent, auth_time, amr, jkt)
          VALUES ($1, $2, $3::timestamptz, $3::timestamptz, $4, $5, $6, coalesce($10::timestamptz, $3::timestamptz), $11::text[], $12) RETURNING *
        ), t AS (
          INSERT INTO ${s}.gk_refresh_tokens (id, hash, family_id, user_id, parent_id, created_at, expires_at)
          SELECT $7, $8, f.id, f.user_id, NULL, f.created_at, $9 FROM f RETURNING *
        )
        SELECT (SELECT row_to_json(f) FROM f) AS family, (SELECT row_to_json(t) FROM t) AS token`,
      [input.id ?? randomUUID(), input.userId, new Date(), input.expiresAt, input.ip ?? null, input.userAgent ?? null, first.id ?? randomUUID(), first.hash, first.expiresAt,
        input.authTime ?? null, input.amr == null ? null : [...input.amr], input.jkt ?? null])
      const row = present(rows.at(0), 'refresh family')
      return { family: toFamily(recordOf(row.family)), token: toToken(recordOf(row.token)) }
    },

    async consume (hash, now, successor): Promise<ConsumeResult> {
      const nextId = successor === undefined ? null : (successor.id ?? randomUUID())
      // One statement: the conditional UPDATE takes the row lock; a concurrent
      // consumer waits for it, re-checks `consumed_at IS NULL` on the committed
      // row and matches nothing, so exactly one caller gets a row back.
      const { rows } = await query(`WITH c AS (
          UPDATE ${s}.gk_refresh_tokens t SET consumed_at = $2, replaced_by = $3
          FROM ${s}.gk_refresh_families f
          WHERE t.hash = $1 AND t.consumed_at IS NULL AND t.expires_at > $2
            AND f.id = t.family_id AND f.revoked_at IS NULL AND f.expires_at > $2
          RETURNING t.*
        ), n AS (
          INSERT INTO ${s}.gk_refresh_tokens (id, hash, family_id, user_id, parent_id, created_at, expires_at)
          SELECT $3, $4, c.family_id, c.user_id, c.id, $2, $5 FROM c WHERE $3::text IS NOT NULL
          RETURNING *
        ), fam AS (
          UPDATE ${s}.gk_refresh_families SET last_used_at = $2 WHERE id = (SELECT family_id FROM c) RETURNING *
        )
        SELECT (SELECT row_to_json(c) FROM c) AS token, (SELECT row_to_json(fam) FROM fam) AS family, (SELECT row_to_json(n) FROM n) AS successor`,
      [hash, now, nextId, successor?.hash ?? null, successor?.expiresAt ?? null])
      const won = present(rows.at(0), 'refresh token')
      if (isRecord(won.token) && isRecord(won.family)) {
        return { status: 'ok', token: toToken(won.token), family: toFamily(won.family), successor: isRecord(won.successor) ? toToken(won.successor) : null }
      }
      // Nothing matched: a consumed token is a replay (always reported); anything else is unknown.
      const lost = await query(`SELECT row_to_json(t) AS token, row_to_json(f) AS family
        FROM ${s}.gk_refresh_tokens t JOIN ${s}.gk_refresh_families f ON f.id = t.family_id WHERE t.hash = $1`, [hash])
      const row = lost.rows.at(0)
      if (row === undefined || !isRecord(row.token) || row.token.consumed_at === null) return { status: 'unknown' }
      return { status: 'reused', token: toToken(row.token), family: toFamily(recordOf(row.family)) }
    },

    findByHash: (hash) => one(`SELECT * FROM ${s}.gk_refresh_tokens WHERE hash = $1`, [hash], toToken),
    findById: (id) => one(`SELECT * FROM ${s}.gk_refresh_tokens WHERE id = $1`, [id], toToken),
    findFamily: (id) => one(`SELECT * FROM ${s}.gk_refresh_families WHERE id = $1`, [id], toFamily),
    revokeFamily: async (familyId, at, reason) =>
      await count(`UPDATE ${s}.gk_refresh_families SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL`, [familyId, at, reason]) === 1,
    revokeAllForUser: (userId, at, reason) =>
      count(`UPDATE ${s}.gk_refresh_families SET revoked_at = $2, revoke_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`, [userId, at, reason]),
    listActive: async (userId, now) => (await query(`SELECT * FROM ${s}.gk_refresh_families
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, seq DESC`, [userId, now])).rows.map(toFamily),
    async deleteExpired (now) {
      const { rows } = await query(`WITH dead AS (
          DELETE FROM ${s}.gk_refresh_families WHERE expires_at <= $1 RETURNING id
        ), gone AS (
          DELETE FROM ${s}.gk_refresh_tokens WHERE expires_at <= $1 OR family_id IN (SELECT id FROM dead) RETURNING 1
        )
        SELECT count(*)::int AS n FROM gone`, [now])
      return Number(present(rows.at(0), 'count').n)
    },
    reauthenticate: async (familyId, authTime, amr) =>
      await count(`UPDATE ${s}.gk_refresh_families SET auth_time = $2, amr = $3 WHERE id = $1 AND revoked_at IS NULL`, [familyId, authTime, [...amr]]) === 1
  }

  return { users, apiKeys, refreshTokens }
}
