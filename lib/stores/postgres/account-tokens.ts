import { randomUUID } from 'node:crypto'
import type { AccountTokenRepository } from '../types.js'
import { present } from '../decode.js'
import type { Query } from './repositories.js'
import { toAccountToken } from './rows.js'

/** The `accounts` plugin's one-time tokens over a migrated schema (`s` is the quoted schema name). */
export function postgresAccountTokens (query: Query, s: string): { accountTokens: AccountTokenRepository } {
  const accountTokens: AccountTokenRepository = {
    async create (t) {
      // One statement against the partial unique index: of concurrent inserts for one user and kind,
      // the later waits for the earlier and takes its slot, so exactly one live token remains.
      const { rows } = await query(`INSERT INTO ${s}.gk_account_tokens (id, hash, user_id, kind, email, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (user_id, kind) WHERE consumed_at IS NULL AND kind <> 'email_revert'
        DO UPDATE SET id = EXCLUDED.id, hash = EXCLUDED.hash, email = EXCLUDED.email, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        RETURNING *`,
      [t.id ?? randomUUID(), t.hash, t.userId, t.kind, t.email ?? null, new Date(), t.expiresAt])
      return toAccountToken(present(rows.at(0), 'account token'))
    },
    async findByHash (hash) {
      const { rows } = await query(`SELECT * FROM ${s}.gk_account_tokens WHERE hash = $1`, [hash])
      return rows.length === 0 ? null : toAccountToken(rows[0])
    },
    async consume (hash, kind, now) {
      // A conditional UPDATE takes the row lock; a concurrent caller re-checks consumed_at on the committed row and matches nothing.
      const { rows } = await query(`UPDATE ${s}.gk_account_tokens SET consumed_at = $3
        WHERE hash = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > $3 RETURNING *`, [hash, kind, now])
      return rows.length === 0 ? null : toAccountToken(rows[0])
    },
    revokeForUser: async (userId, kinds) =>
      (await query(`DELETE FROM ${s}.gk_account_tokens WHERE user_id = $1 AND consumed_at IS NULL AND kind = ANY($2::text[])`, [userId, [...kinds]])).rowCount ?? 0,
    deleteExpired: async (now) => (await query(`DELETE FROM ${s}.gk_account_tokens WHERE expires_at <= $1`, [now])).rowCount ?? 0
  }
  return { accountTokens }
}
