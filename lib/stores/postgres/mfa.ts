import { randomUUID } from 'node:crypto'
import type { ChallengeRepository, MfaFactorRepository, RecoveryCodeRepository, WebAuthnCredentialRepository } from '../types.js'
import { present } from '../decode.js'
import type { Query } from './repositories.js'
import { toChallenge, toMfaFactor, toWebAuthnCredential } from './rows.js'

/**
 * The `mfa` plugin's repositories over a migrated schema (`s` is the quoted
 * schema name). Every check-and-set is one conditional `UPDATE`: it takes
 * the row lock, and a concurrent caller re-checks the condition on the
 * committed row and matches nothing.
 */
export function postgresMfa (query: Query, s: string): {
  mfaFactors: MfaFactorRepository
  recoveryCodes: RecoveryCodeRepository
  webauthnCredentials: WebAuthnCredentialRepository
  challenges: ChallengeRepository
} {
  const rowsOf = async (text: string, values: unknown[]): Promise<Array<Record<string, unknown>>> => (await query(text, values)).rows
  const count = async (text: string, values: unknown[]): Promise<number> => (await query(text, values)).rowCount ?? 0

  const mfaFactors: MfaFactorRepository = {
    async create (f) {
      const [row] = await rowsOf(`INSERT INTO ${s}.gk_mfa_factors (id, user_id, kind, secret, name, created_at)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`, [f.id ?? randomUUID(), f.userId, f.kind, f.secret, f.name ?? '', new Date()])
      return toMfaFactor(present(row, 'MFA factor'))
    },
    async findById (id) {
      const [row] = await rowsOf(`SELECT * FROM ${s}.gk_mfa_factors WHERE id = $1`, [id])
      return row === undefined ? null : toMfaFactor(row)
    },
    listByUser: async (userId) => (await rowsOf(`SELECT * FROM ${s}.gk_mfa_factors WHERE user_id = $1 ORDER BY created_at, seq`, [userId])).map(toMfaFactor),
    acceptStep: async (id, step, at, confirm = false) =>
      await count(`UPDATE ${s}.gk_mfa_factors SET last_step = $2, last_used_at = $3, confirmed_at = coalesce(confirmed_at, $3)
        WHERE id = $1 AND (last_step IS NULL OR last_step < $2) AND (confirmed_at IS NOT NULL OR $4)`, [id, step, at, confirm]) === 1,
    delete: async (id) => await count(`DELETE FROM ${s}.gk_mfa_factors WHERE id = $1`, [id]) === 1,
    deleteForUser: async (userId, kinds) => kinds === undefined
      ? await count(`DELETE FROM ${s}.gk_mfa_factors WHERE user_id = $1`, [userId])
      : await count(`DELETE FROM ${s}.gk_mfa_factors WHERE user_id = $1 AND kind = ANY($2::text[])`, [userId, [...kinds]])
  }

  const recoveryCodes: RecoveryCodeRepository = {
    async replace (userId, hashes) {
      // One statement: the old set is gone in the same step the new one appears.
      await query(`WITH gone AS (DELETE FROM ${s}.gk_recovery_codes WHERE user_id = $1)
        INSERT INTO ${s}.gk_recovery_codes (user_id, hash) SELECT DISTINCT $1, h FROM unnest($2::text[]) AS h`, [userId, [...hashes]])
    },
    consume: async (userId, hash, at) =>
      await count(`UPDATE ${s}.gk_recovery_codes SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL`, [userId, hash, at]) === 1,
    async remaining (userId) {
      const [row] = await rowsOf(`SELECT count(*)::int AS n FROM ${s}.gk_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, [userId])
      return Number(row?.n ?? 0)
    }
  }

  const webauthnCredentials: WebAuthnCredentialRepository = {
    async create (c) {
      const [row] = await rowsOf(`INSERT INTO ${s}.gk_webauthn_credentials (id, user_id, public_key, counter, transports, backup_eligible, backed_up, name, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [c.id, c.userId, c.publicKey, c.counter, c.transports ?? [], c.backupEligible, c.backedUp, c.name, new Date()])
      return toWebAuthnCredential(present(row, 'WebAuthn credential'))
    },
    async findById (id) {
      const [row] = await rowsOf(`SELECT * FROM ${s}.gk_webauthn_credentials WHERE id = $1`, [id])
      return row === undefined ? null : toWebAuthnCredential(row)
    },
    listByUser: async (userId) => (await rowsOf(`SELECT * FROM ${s}.gk_webauthn_credentials WHERE user_id = $1 ORDER BY created_at, seq`, [userId])).map(toWebAuthnCredential),
    async updateCounter (id, counter, at, backedUp) {
      const [row] = await rowsOf(`WITH u AS (
          UPDATE ${s}.gk_webauthn_credentials SET counter = $2, backed_up = $4, last_used_at = $3
          WHERE id = $1 AND (counter < $2 OR (counter = 0 AND $2 = 0)) RETURNING 1
        )
        SELECT (SELECT count(*) FROM u)::int AS updated, EXISTS (SELECT 1 FROM ${s}.gk_webauthn_credentials WHERE id = $1) AS known`, [id, counter, at, backedUp])
      return row?.updated === 1 ? 'ok' : row?.known === true ? 'regressed' : 'unknown'
    },
    rename: async (id, userId, name) => await count(`UPDATE ${s}.gk_webauthn_credentials SET name = $3 WHERE id = $1 AND user_id = $2`, [id, userId, name]) === 1,
    delete: async (id, userId) => await count(`DELETE FROM ${s}.gk_webauthn_credentials WHERE id = $1 AND user_id = $2`, [id, userId]) === 1,
    deleteForUser: async (userId) => await count(`DELETE FROM ${s}.gk_webauthn_credentials WHERE user_id = $1`, [userId])
  }

  const challenges: ChallengeRepository = {
    async create (c) {
      const [row] = await rowsOf(`INSERT INTO ${s}.gk_challenges (id, hash, kind, user_id, data, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [c.id ?? randomUUID(), c.hash, c.kind, c.userId ?? null, JSON.stringify(c.data ?? {}), new Date(), c.expiresAt])
      return toChallenge(present(row, 'challenge'))
    },
    async find (hash, kind, now) {
      const [row] = await rowsOf(`SELECT * FROM ${s}.gk_challenges WHERE hash = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > $3`, [hash, kind, now])
      return row === undefined ? null : toChallenge(row)
    },
    async consume (hash, kind, now) {
      const [row] = await rowsOf(`UPDATE ${s}.gk_challenges SET consumed_at = $3
        WHERE hash = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > $3 RETURNING *`, [hash, kind, now])
      return row === undefined ? null : toChallenge(row)
    },
    async fail (hash, kind, now, maxAttempts) {
      const [row] = await rowsOf(`UPDATE ${s}.gk_challenges
        SET attempts = attempts + 1, consumed_at = CASE WHEN attempts + 1 >= $4 THEN $3 ELSE NULL END
        WHERE hash = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > $3 RETURNING attempts`, [hash, kind, now, maxAttempts])
      return row === undefined ? null : Math.max(0, maxAttempts - Number(row.attempts))
    },
    deleteExpired: async (now) => await count(`DELETE FROM ${s}.gk_challenges WHERE expires_at <= $1`, [now])
  }

  return { mfaFactors, recoveryCodes, webauthnCredentials, challenges }
}
