import type { PgClient, PgPool, PgResult } from '../driver.js'
import { fieldOf } from '../../core/json.js'
import { errors } from '../../core/errors.js'
import { mapPgError } from './errors.js'

/** One schema change of the Postgres store. Versions only ever grow; a released migration is never edited. */
export interface PostgresMigration {
  version: number
  name: string
  /** The DDL, given the quoted schema name. Runs inside the migration transaction. */
  sql: (schema: string) => string
}

/** The Postgres schema, in order. Every lookup the store makes has an index. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: (s) => `
      CREATE TABLE ${s}.gk_users (
        id text PRIMARY KEY,
        username text NOT NULL,
        login text NOT NULL CONSTRAINT gk_users_login_key UNIQUE,
        password_hash text,
        roles text[] NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL
      );

      CREATE TABLE ${s}.gk_api_keys (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        owner_id text NOT NULL,
        name text NOT NULL,
        start text NOT NULL,
        hash text NOT NULL CONSTRAINT gk_api_keys_hash_key UNIQUE,
        scopes text[] NOT NULL DEFAULT '{}',
        expires_at timestamptz(3),
        revoked_at timestamptz(3),
        created_at timestamptz(3) NOT NULL,
        last_used_at timestamptz(3),
        rate_limit_max integer,
        rate_limit_window integer
      );
      CREATE INDEX gk_api_keys_owner_idx ON ${s}.gk_api_keys (owner_id, created_at, seq);

      CREATE TABLE ${s}.gk_refresh_families (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        user_id text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        last_used_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3),
        revoke_reason text,
        ip text,
        user_agent text
      );
      CREATE INDEX gk_refresh_families_user_idx ON ${s}.gk_refresh_families (user_id, created_at DESC, seq DESC);
      CREATE INDEX gk_refresh_families_expires_idx ON ${s}.gk_refresh_families (expires_at);

      CREATE TABLE ${s}.gk_refresh_tokens (
        id text PRIMARY KEY,
        hash text NOT NULL CONSTRAINT gk_refresh_tokens_hash_key UNIQUE,
        family_id text NOT NULL REFERENCES ${s}.gk_refresh_families (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        parent_id text,
        created_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        consumed_at timestamptz(3),
        replaced_by text
      );
      CREATE INDEX gk_refresh_tokens_family_idx ON ${s}.gk_refresh_tokens (family_id);
      CREATE INDEX gk_refresh_tokens_expires_idx ON ${s}.gk_refresh_tokens (expires_at);
    `
  },
  {
    version: 2,
    name: 'oauth clients and identities',
    sql: (s) => `
      CREATE TABLE ${s}.gk_oauth_clients (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        name text NOT NULL,
        secret_hash text NOT NULL,
        previous_secret_hash text,
        previous_secret_expires_at timestamptz(3),
        scopes text[] NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3)
      );

      CREATE TABLE ${s}.gk_identities (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        issuer text NOT NULL,
        subject text NOT NULL,
        user_id text NOT NULL,
        provider text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        CONSTRAINT gk_identities_pkey PRIMARY KEY (issuer, subject)
      );
      CREATE INDEX gk_identities_user_idx ON ${s}.gk_identities (user_id, created_at, seq);
    `
  },
  {
    version: 3,
    name: 'user emails and account tokens',
    sql: (s) => `
      ALTER TABLE ${s}.gk_users
        ADD COLUMN email text,
        ADD COLUMN email_normalized text,
        ADD COLUMN email_verified_at timestamptz(3);
      CREATE UNIQUE INDEX gk_users_email_normalized_key ON ${s}.gk_users (email_normalized);

      CREATE TABLE ${s}.gk_account_tokens (
        id text PRIMARY KEY,
        hash text NOT NULL CONSTRAINT gk_account_tokens_hash_key UNIQUE,
        user_id text NOT NULL,
        kind text NOT NULL,
        email text,
        created_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        consumed_at timestamptz(3)
      );
      CREATE UNIQUE INDEX gk_account_tokens_live_idx ON ${s}.gk_account_tokens (user_id, kind) WHERE consumed_at IS NULL AND kind <> 'email_revert';
      CREATE INDEX gk_account_tokens_user_idx ON ${s}.gk_account_tokens (user_id);
      CREATE INDEX gk_account_tokens_expires_idx ON ${s}.gk_account_tokens (expires_at);
    `
  },
  {
    version: 4,
    name: 'second factors, passkeys and challenges',
    sql: (s) => `
      ALTER TABLE ${s}.gk_refresh_families
        ADD COLUMN auth_time timestamptz(3),
        ADD COLUMN amr text[];

      CREATE TABLE ${s}.gk_mfa_factors (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        user_id text NOT NULL,
        kind text NOT NULL,
        secret text NOT NULL,
        name text NOT NULL DEFAULT '',
        confirmed_at timestamptz(3),
        last_step bigint,
        created_at timestamptz(3) NOT NULL,
        last_used_at timestamptz(3)
      );
      CREATE INDEX gk_mfa_factors_user_idx ON ${s}.gk_mfa_factors (user_id, created_at, seq);

      CREATE TABLE ${s}.gk_recovery_codes (
        user_id text NOT NULL,
        hash text NOT NULL,
        used_at timestamptz(3),
        CONSTRAINT gk_recovery_codes_pkey PRIMARY KEY (user_id, hash)
      );

      CREATE TABLE ${s}.gk_webauthn_credentials (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        user_id text NOT NULL,
        public_key text NOT NULL,
        counter bigint NOT NULL,
        transports text[] NOT NULL DEFAULT '{}',
        backup_eligible boolean NOT NULL,
        backed_up boolean NOT NULL,
        name text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        last_used_at timestamptz(3)
      );
      CREATE INDEX gk_webauthn_credentials_user_idx ON ${s}.gk_webauthn_credentials (user_id, created_at, seq);

      CREATE TABLE ${s}.gk_challenges (
        id text PRIMARY KEY,
        hash text NOT NULL CONSTRAINT gk_challenges_hash_key UNIQUE,
        kind text NOT NULL,
        user_id text,
        data jsonb NOT NULL DEFAULT '{}',
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        consumed_at timestamptz(3)
      );
      CREATE INDEX gk_challenges_expires_idx ON ${s}.gk_challenges (expires_at);
    `
  },
  {
    version: 5,
    name: 'DPoP-bound refresh families',
    sql: (s) => `
      ALTER TABLE ${s}.gk_refresh_families ADD COLUMN jkt text;
    `
  }
]

/** A migration applied by {@link migratePostgres}. */
export interface AppliedMigration {
  version: number
  name: string
}

const latest = (migrations: readonly PostgresMigration[]): number => migrations.at(-1)?.version ?? 0

/**
 * Brings `schema` (already quoted) to the latest version and returns what it
 * applied. Everything runs in one transaction under an advisory lock keyed on
 * the schema name, so instances starting together apply each migration once
 * and a failed migration leaves nothing half done.
 */
export async function migratePostgres (pool: PgPool, schema: string, timeoutMs: number, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<AppliedMigration[]> {
  const client = await connect(pool)
  let failure: Error | undefined
  // query_timeout is a client-side backstop for a server that stopped answering.
  const run = (text: string, values?: unknown[]): Promise<PgResult> => {
    const config = { text, values, query_timeout: timeoutMs + 2000 }
    return client.query(config)
  }
  try {
    await run('BEGIN')
    await run(`SET LOCAL statement_timeout = ${timeoutMs}`)
    await run('SELECT pg_advisory_xact_lock(hashtext($1))', [`fastify-gatekeeper:migrate:${schema}`])
    await run(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await run(`CREATE TABLE IF NOT EXISTS ${schema}.gk_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await run(`SELECT coalesce(max(version), 0)::int AS v FROM ${schema}.gk_migrations`)
    const current = Number(fieldOf(rows.at(0), 'v') ?? 0)
    if (current > latest(migrations)) {
      throw new errors.GK_CONFIG(`postgres schema ${schema} is at version ${current}, newer than this release knows (${latest(migrations)}); upgrade fastify-gatekeeper`)
    }
    const applied: AppliedMigration[] = []
    for (const m of migrations) {
      if (m.version <= current) continue
      await run(m.sql(schema))
      await run(`INSERT INTO ${schema}.gk_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name])
      applied.push({ version: m.version, name: m.name })
    }
    await run('COMMIT')
    return applied
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err))
    await client.query('ROLLBACK').catch(() => {})
    throw mapPgError(err, 'migration already applied')
  } finally {
    // Releasing with the error discards the connection instead of pooling a possibly broken one.
    client.release(failure)
  }
}

/**
 * Checks that `schema` is at the latest version without changing anything
 * (for `migrate: false`, when migrations run from the command line).
 */
export async function checkPostgresSchema (pool: PgPool, schema: string, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<void> {
  let current = 0
  try {
    const { rows } = await pool.query(`SELECT coalesce(max(version), 0)::int AS v FROM ${schema}.gk_migrations`)
    current = Number(fieldOf(rows.at(0), 'v') ?? 0)
  } catch (err) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: never migrated.
    const code = fieldOf(err, 'code')
    if (code !== '42P01' && code !== '3F000') throw mapPgError(err, '')
  }
  if (current !== latest(migrations)) {
    throw new errors.GK_CONFIG(`postgres schema ${schema} is at version ${current}, this release needs ${latest(migrations)}: run \`npx fastify-gatekeeper migrate --url <url> --schema ${schema.replaceAll('"', '')}\` or set migrate: true`)
  }
}

async function connect (pool: PgPool): Promise<PgClient> {
  try {
    return await pool.connect()
  } catch (err) {
    throw mapPgError(err, '')
  }
}
