import type { SqliteDatabase } from '../driver.js'
import { fieldOf } from '../../core/json.js'

/** One schema change of the SQLite store. Versions only ever grow; a released migration is never edited. */
export interface SqliteMigration {
  version: number
  name: string
  sql: string
}

/** The SQLite schema, in order. Dates are integer milliseconds since the epoch; lists are JSON text. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE gk_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        login TEXT NOT NULL,
        password_hash TEXT,
        roles TEXT NOT NULL DEFAULT '[]',
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX gk_users_login ON gk_users (login);

      CREATE TABLE gk_api_keys (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        name TEXT NOT NULL,
        start TEXT NOT NULL,
        hash TEXT NOT NULL,
        scopes TEXT NOT NULL DEFAULT '[]',
        expires_at INTEGER,
        revoked_at INTEGER,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        rate_limit_max INTEGER,
        rate_limit_window INTEGER
      );
      CREATE UNIQUE INDEX gk_api_keys_hash ON gk_api_keys (hash);
      CREATE INDEX gk_api_keys_owner ON gk_api_keys (owner_id, created_at);

      CREATE TABLE gk_refresh_families (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoke_reason TEXT,
        ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX gk_refresh_families_user ON gk_refresh_families (user_id, created_at);
      CREATE INDEX gk_refresh_families_expires ON gk_refresh_families (expires_at);

      CREATE TABLE gk_refresh_tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        family_id TEXT NOT NULL REFERENCES gk_refresh_families (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        parent_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        consumed_at INTEGER,
        replaced_by TEXT
      );
      CREATE UNIQUE INDEX gk_refresh_tokens_hash ON gk_refresh_tokens (hash);
      CREATE INDEX gk_refresh_tokens_family ON gk_refresh_tokens (family_id);
      CREATE INDEX gk_refresh_tokens_expires ON gk_refresh_tokens (expires_at);
    `
  },
  {
    version: 2,
    name: 'oauth clients and identities',
    sql: `
      CREATE TABLE gk_oauth_clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        previous_secret_hash TEXT,
        previous_secret_expires_at INTEGER,
        scopes TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );

      CREATE TABLE gk_identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject)
      );
      CREATE INDEX gk_identities_user ON gk_identities (user_id, created_at);
    `
  },
  {
    version: 3,
    name: 'user emails and account tokens',
    sql: `
      ALTER TABLE gk_users ADD COLUMN email TEXT;
      ALTER TABLE gk_users ADD COLUMN email_normalized TEXT;
      ALTER TABLE gk_users ADD COLUMN email_verified_at INTEGER;
      CREATE UNIQUE INDEX gk_users_email ON gk_users (email_normalized);

      CREATE TABLE gk_account_tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        email TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        consumed_at INTEGER
      );
      CREATE UNIQUE INDEX gk_account_tokens_hash ON gk_account_tokens (hash);
      CREATE UNIQUE INDEX gk_account_tokens_live ON gk_account_tokens (user_id, kind) WHERE consumed_at IS NULL AND kind <> 'email_revert';
      CREATE INDEX gk_account_tokens_user ON gk_account_tokens (user_id);
      CREATE INDEX gk_account_tokens_expires ON gk_account_tokens (expires_at);
    `
  },
  {
    version: 4,
    name: 'second factors, passkeys and challenges',
    sql: `
      ALTER TABLE gk_refresh_families ADD COLUMN auth_time INTEGER;
      ALTER TABLE gk_refresh_families ADD COLUMN amr TEXT;

      CREATE TABLE gk_mfa_factors (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        secret TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        confirmed_at INTEGER,
        last_step INTEGER,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      );
      CREATE INDEX gk_mfa_factors_user ON gk_mfa_factors (user_id, created_at);

      CREATE TABLE gk_recovery_codes (
        user_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, hash)
      );

      CREATE TABLE gk_webauthn_credentials (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        public_key TEXT NOT NULL,
        counter INTEGER NOT NULL,
        transports TEXT NOT NULL DEFAULT '[]',
        backup_eligible INTEGER NOT NULL,
        backed_up INTEGER NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      );
      CREATE INDEX gk_webauthn_credentials_user ON gk_webauthn_credentials (user_id, created_at);

      CREATE TABLE gk_challenges (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        user_id TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        consumed_at INTEGER
      );
      CREATE UNIQUE INDEX gk_challenges_hash ON gk_challenges (hash);
      CREATE INDEX gk_challenges_expires ON gk_challenges (expires_at);
    `
  },
  {
    version: 5,
    name: 'DPoP-bound refresh families',
    sql: `
      ALTER TABLE gk_refresh_families ADD COLUMN jkt TEXT;
    `
  }
]

/** A migration that was applied by {@link migrateSqlite}. */
export interface AppliedMigration {
  version: number
  name: string
}

/**
 * Brings the database to the latest schema version and returns what it
 * applied (empty when already current). Runs in one IMMEDIATE transaction, so
 * two processes opening the same file at once apply each migration once.
 */
export function migrateSqlite (db: SqliteDatabase, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): AppliedMigration[] {
  const apply = db.transaction((): AppliedMigration[] => {
    db.exec('CREATE TABLE IF NOT EXISTS gk_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)')
    const v = fieldOf(db.prepare('SELECT MAX(version) AS v FROM gk_migrations').get(), 'v')
    const current = typeof v === 'number' ? v : 0
    const latest = migrations.at(-1)?.version ?? 0
    if (current > latest) {
      throw new Error(`the database schema is at version ${current}, newer than this release knows (${latest}); upgrade fastify-gatekeeper`)
    }
    const applied: AppliedMigration[] = []
    const record = db.prepare('INSERT INTO gk_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const m of migrations) {
      if (m.version <= current) continue
      db.exec(m.sql)
      record.run(m.version, m.name, Date.now())
      applied.push({ version: m.version, name: m.name })
    }
    return applied
  })
  return apply.immediate()
}
