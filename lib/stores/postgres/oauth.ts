import type { IdentityRepository, OAuthClientPatch, OAuthClientRepository } from '../types.js'
import { present } from '../decode.js'
import type { Query } from './repositories.js'
import { toIdentity, toOAuthClient } from './rows.js'

const CLIENT_COLUMNS: ReadonlyArray<[keyof OAuthClientPatch, string]> = [
  ['name', 'name'],
  ['secretHash', 'secret_hash'],
  ['previousSecretHash', 'previous_secret_hash'],
  ['previousSecretExpiresAt', 'previous_secret_expires_at'],
  ['scopes', 'scopes'],
  ['revokedAt', 'revoked_at']
]

/** The `oauth2` plugin's repositories over a migrated schema (`s` is the quoted schema name). */
export function postgresOAuthRepositories (query: Query, s: string): { oauthClients: OAuthClientRepository, identities: IdentityRepository } {
  const oauthClients: OAuthClientRepository = {
    async create (c) {
      const { rows } = await query(`INSERT INTO ${s}.gk_oauth_clients (id, name, secret_hash, previous_secret_hash, previous_secret_expires_at, scopes, created_at, revoked_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [c.id, c.name, c.secretHash, c.previousSecretHash, c.previousSecretExpiresAt, c.scopes, c.createdAt, c.revokedAt])
      return toOAuthClient(present(rows.at(0), 'OAuth client'))
    },
    async findById (id) {
      const { rows } = await query(`SELECT * FROM ${s}.gk_oauth_clients WHERE id = $1`, [id])
      return rows.length === 0 ? null : toOAuthClient(rows[0])
    },
    async update (id, patch) {
      const values: unknown[] = [id]
      const sets: string[] = []
      for (const [field, column] of CLIENT_COLUMNS) {
        if (patch[field] === undefined) continue
        values.push(patch[field])
        sets.push(`${column} = $${values.length}`)
      }
      const text = sets.length === 0
        ? `SELECT * FROM ${s}.gk_oauth_clients WHERE id = $1`
        : `UPDATE ${s}.gk_oauth_clients SET ${sets.join(', ')} WHERE id = $1 RETURNING *`
      const { rows } = await query(text, values)
      return rows.length === 0 ? null : toOAuthClient(rows[0])
    },
    list: async () => (await query(`SELECT * FROM ${s}.gk_oauth_clients ORDER BY created_at, seq`)).rows.map(toOAuthClient)
  }

  const identities: IdentityRepository = {
    async create (i) {
      // The primary key makes the link atomic: of concurrent inserts for one pair, one commits and the others get GK_CONFLICT.
      const { rows } = await query(`INSERT INTO ${s}.gk_identities (issuer, subject, user_id, provider, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [i.issuer, i.subject, i.userId, i.provider, i.createdAt])
      return toIdentity(present(rows.at(0), 'identity'))
    },
    async find (issuer, subject) {
      const { rows } = await query(`SELECT * FROM ${s}.gk_identities WHERE issuer = $1 AND subject = $2`, [issuer, subject])
      return rows.length === 0 ? null : toIdentity(rows[0])
    },
    listByUser: async (userId) => (await query(`SELECT * FROM ${s}.gk_identities WHERE user_id = $1 ORDER BY created_at, seq`, [userId])).rows.map(toIdentity),
    delete: async (issuer, subject) => ((await query(`DELETE FROM ${s}.gk_identities WHERE issuer = $1 AND subject = $2`, [issuer, subject])).rowCount ?? 0) > 0
  }

  return { oauthClients, identities }
}
