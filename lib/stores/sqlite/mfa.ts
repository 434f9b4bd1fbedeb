import { randomUUID } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import type { ChallengeRepository, MfaFactorRepository, RecoveryCodeRepository, WebAuthnCredentialRepository } from '../types.js'
import { guarded } from './repositories.js'
import {
  toChallenge, toMfaFactor, toWebAuthnCredential,
  type ChallengeRow, type MfaFactorRow, type WebAuthnCredentialRow
} from './rows.js'
import { present } from '../decode.js'

/**
 * The `mfa` plugin's repositories over an open, migrated database. Every
 * check-and-set is one conditional statement, which SQLite runs under its
 * write lock: exactly one caller of any process wins.
 */
export function sqliteMfa (db: Database): {
  mfaFactors: MfaFactorRepository
  recoveryCodes: RecoveryCodeRepository
  webauthnCredentials: WebAuthnCredentialRepository
  challenges: ChallengeRepository
} {
  const q = {
    factorById: db.prepare<[string], MfaFactorRow>('SELECT * FROM gk_mfa_factors WHERE id = ?'),
    factorsByUser: db.prepare<[string], MfaFactorRow>('SELECT * FROM gk_mfa_factors WHERE user_id = ? ORDER BY created_at, rowid'),
    insertFactor: db.prepare(`INSERT INTO gk_mfa_factors (id, user_id, kind, secret, name, created_at)
      VALUES (@id, @userId, @kind, @secret, @name, @now)`),
    acceptStep: db.prepare(`UPDATE gk_mfa_factors SET last_step = @step, last_used_at = @at, confirmed_at = coalesce(confirmed_at, @at)
      WHERE id = @id AND (last_step IS NULL OR last_step < @step) AND (confirmed_at IS NOT NULL OR @confirm = 1)`),
    deleteFactor: db.prepare('DELETE FROM gk_mfa_factors WHERE id = ?'),
    deleteFactorsOfKind: db.prepare('DELETE FROM gk_mfa_factors WHERE user_id = ? AND kind = ?'),
    deleteFactors: db.prepare('DELETE FROM gk_mfa_factors WHERE user_id = ?'),

    deleteCodes: db.prepare('DELETE FROM gk_recovery_codes WHERE user_id = ?'),
    insertCode: db.prepare('INSERT OR IGNORE INTO gk_recovery_codes (user_id, hash) VALUES (?, ?)'),
    consumeCode: db.prepare('UPDATE gk_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL'),
    remaining: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM gk_recovery_codes WHERE user_id = ? AND used_at IS NULL'),

    credById: db.prepare<[string], WebAuthnCredentialRow>('SELECT * FROM gk_webauthn_credentials WHERE id = ?'),
    credsByUser: db.prepare<[string], WebAuthnCredentialRow>('SELECT * FROM gk_webauthn_credentials WHERE user_id = ? ORDER BY created_at, rowid'),
    insertCred: db.prepare(`INSERT INTO gk_webauthn_credentials (id, user_id, public_key, counter, transports, backup_eligible, backed_up, name, created_at)
      VALUES (@id, @userId, @publicKey, @counter, @transports, @backupEligible, @backedUp, @name, @now)`),
    useCred: db.prepare(`UPDATE gk_webauthn_credentials SET counter = @counter, backed_up = @backedUp, last_used_at = @at
      WHERE id = @id AND (counter < @counter OR (counter = 0 AND @counter = 0))`),
    renameCred: db.prepare('UPDATE gk_webauthn_credentials SET name = ? WHERE id = ? AND user_id = ?'),
    deleteCred: db.prepare('DELETE FROM gk_webauthn_credentials WHERE id = ? AND user_id = ?'),
    deleteCreds: db.prepare('DELETE FROM gk_webauthn_credentials WHERE user_id = ?'),

    challengeByHash: db.prepare<[string], ChallengeRow>('SELECT * FROM gk_challenges WHERE hash = ?'),
    liveChallenge: db.prepare<[string, string, number], ChallengeRow>('SELECT * FROM gk_challenges WHERE hash = ? AND kind = ? AND consumed_at IS NULL AND expires_at > ?'),
    insertChallenge: db.prepare(`INSERT INTO gk_challenges (id, hash, kind, user_id, data, created_at, expires_at)
      VALUES (@id, @hash, @kind, @userId, @data, @now, @expiresAt)`),
    consumeChallenge: db.prepare<[number, string, string, number], ChallengeRow>(`UPDATE gk_challenges SET consumed_at = ?
      WHERE hash = ? AND kind = ? AND consumed_at IS NULL AND expires_at > ? RETURNING *`),
    failChallenge: db.prepare<{ hash: string, kind: string, now: number, max: number }, ChallengeRow>(`UPDATE gk_challenges
      SET attempts = attempts + 1, consumed_at = CASE WHEN attempts + 1 >= @max THEN @now ELSE NULL END
      WHERE hash = @hash AND kind = @kind AND consumed_at IS NULL AND expires_at > @now RETURNING *`),
    deleteChallenges: db.prepare('DELETE FROM gk_challenges WHERE expires_at <= ?')
  }

  const mfaFactors: MfaFactorRepository = {
    create: guarded('factor already exists', (input) => {
      const id = input.id ?? randomUUID()
      q.insertFactor.run({ id, userId: input.userId, kind: input.kind, secret: input.secret, name: input.name ?? '', now: Date.now() })
      return toMfaFactor(present(q.factorById.get(id), 'MFA factor'))
    }),
    findById: guarded('', (id) => {
      const row = q.factorById.get(id)
      return row === undefined ? null : toMfaFactor(row)
    }),
    listByUser: guarded('', (userId) => q.factorsByUser.all(userId).map(toMfaFactor)),
    acceptStep: guarded('', (id, step, at, confirm = false) => q.acceptStep.run({ id, step, at: at.getTime(), confirm: confirm ? 1 : 0 }).changes === 1),
    delete: guarded('', (id) => q.deleteFactor.run(id).changes === 1),
    deleteForUser: guarded('', (userId, kinds) => kinds === undefined
      ? q.deleteFactors.run(userId).changes
      : db.transaction(() => kinds.reduce((n, kind) => n + q.deleteFactorsOfKind.run(userId, kind).changes, 0)).immediate())
  }

  const recoveryCodes: RecoveryCodeRepository = {
    replace: guarded('', (userId, hashes) => {
      db.transaction(() => {
        q.deleteCodes.run(userId)
        for (const h of hashes) q.insertCode.run(userId, h)
      }).immediate()
    }),
    consume: guarded('', (userId, hash, at) => q.consumeCode.run(at.getTime(), userId, hash).changes === 1),
    remaining: guarded('', (userId) => q.remaining.get(userId)?.n ?? 0)
  }

  const webauthnCredentials: WebAuthnCredentialRepository = {
    create: guarded('credential already registered', (input) => {
      q.insertCred.run({
        id: input.id,
        userId: input.userId,
        publicKey: input.publicKey,
        counter: input.counter,
        transports: JSON.stringify(input.transports ?? []),
        backupEligible: input.backupEligible ? 1 : 0,
        backedUp: input.backedUp ? 1 : 0,
        name: input.name,
        now: Date.now()
      })
      return toWebAuthnCredential(present(q.credById.get(input.id), 'WebAuthn credential'))
    }),
    findById: guarded('', (id) => {
      const row = q.credById.get(id)
      return row === undefined ? null : toWebAuthnCredential(row)
    }),
    listByUser: guarded('', (userId) => q.credsByUser.all(userId).map(toWebAuthnCredential)),
    updateCounter: guarded('', (id, counter, at, backedUp) => {
      if (q.useCred.run({ id, counter, at: at.getTime(), backedUp: backedUp ? 1 : 0 }).changes === 1) return 'ok' as const
      return q.credById.get(id) === undefined ? 'unknown' as const : 'regressed' as const
    }),
    rename: guarded('', (id, userId, name) => q.renameCred.run(name, id, userId).changes === 1),
    delete: guarded('', (id, userId) => q.deleteCred.run(id, userId).changes === 1),
    deleteForUser: guarded('', (userId) => q.deleteCreds.run(userId).changes)
  }

  const challenges: ChallengeRepository = {
    create: guarded('challenge already exists', (input) => {
      q.insertChallenge.run({
        id: input.id ?? randomUUID(),
        hash: input.hash,
        kind: input.kind,
        userId: input.userId ?? null,
        data: JSON.stringify(input.data ?? {}),
        now: Date.now(),
        expiresAt: input.expiresAt.getTime()
      })
      return toChallenge(present(q.challengeByHash.get(input.hash), 'challenge'))
    }),
    find: guarded('', (hash, kind, now) => {
      const row = q.liveChallenge.get(hash, kind, now.getTime())
      return row === undefined ? null : toChallenge(row)
    }),
    consume: guarded('', (hash, kind, now) => {
      const t = now.getTime()
      const row = q.consumeChallenge.get(t, hash, kind, t)
      return row === undefined ? null : toChallenge(row)
    }),
    fail: guarded('', (hash, kind, now, maxAttempts) => {
      const row = q.failChallenge.get({ hash, kind, now: now.getTime(), max: maxAttempts })
      return row === undefined ? null : Math.max(0, maxAttempts - row.attempts)
    }),
    deleteExpired: guarded('', (now) => q.deleteChallenges.run(now.getTime()).changes)
  }

  return { mfaFactors, recoveryCodes, webauthnCredentials, challenges }
}
