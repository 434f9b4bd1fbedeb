import { randomUUID } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import type { AccountTokenRepository } from '../types.js'
import { guarded } from './repositories.js'
import { toAccountToken, type AccountTokenRow } from './rows.js'
import { present } from '../decode.js'

/** The `accounts` plugin's one-time tokens over an open, migrated database. */
export function sqliteAccountTokens (db: Database): { accountTokens: AccountTokenRepository } {
  const q = {
    byHash: db.prepare<[string], AccountTokenRow>('SELECT * FROM gk_account_tokens WHERE hash = ?'),
    // The partial unique index keeps one live token per user and kind (revert tokens excepted): a newer one takes the slot.
    upsert: db.prepare(`INSERT INTO gk_account_tokens (id, hash, user_id, kind, email, created_at, expires_at)
      VALUES (@id, @hash, @userId, @kind, @email, @now, @expiresAt)
      ON CONFLICT (user_id, kind) WHERE consumed_at IS NULL AND kind <> 'email_revert'
      DO UPDATE SET id = excluded.id, hash = excluded.hash, email = excluded.email, created_at = excluded.created_at, expires_at = excluded.expires_at`),
    consume: db.prepare<[number, string, string, number], AccountTokenRow>(`UPDATE gk_account_tokens SET consumed_at = ?
      WHERE hash = ? AND kind = ? AND consumed_at IS NULL AND expires_at > ? RETURNING *`),
    revoke: db.prepare('DELETE FROM gk_account_tokens WHERE user_id = ? AND consumed_at IS NULL AND kind = ?'),
    deleteExpired: db.prepare('DELETE FROM gk_account_tokens WHERE expires_at <= ?')
  }

  const accountTokens: AccountTokenRepository = {
    create: guarded('account token already exists', (input) => {
      q.upsert.run({
        id: input.id ?? randomUUID(),
        hash: input.hash,
        userId: input.userId,
        kind: input.kind,
        email: input.email ?? null,
        now: Date.now(),
        expiresAt: input.expiresAt.getTime()
      })
      return toAccountToken(present(q.byHash.get(input.hash), 'account token'))
    }),
    findByHash: guarded('', (hash) => {
      const row = q.byHash.get(hash)
      return row === undefined ? null : toAccountToken(row)
    }),
    // One conditional UPDATE: SQLite runs it under the write lock, so exactly one caller (of any process) gets the row.
    consume: guarded('', (hash, kind, now) => {
      const t = now.getTime()
      const row = q.consume.get(t, hash, kind, t)
      return row === undefined ? null : toAccountToken(row)
    }),
    revokeForUser: guarded('', (userId, kinds) => db.transaction(() => kinds.reduce((n, kind) => n + q.revoke.run(userId, kind).changes, 0)).immediate()),
    deleteExpired: guarded('', (now) => q.deleteExpired.run(now.getTime()).changes)
  }
  return { accountTokens }
}
