import type { Database } from 'better-sqlite3'
import type { IdentityRepository, OAuthClientRepository } from '../types.js'
import { guarded } from './repositories.js'
import { ms, toIdentity, toOAuthClient, type IdentityRow, type OAuthClientRow } from './rows.js'
import { present } from '../decode.js'

/** The `oauth2` plugin's repositories over an open, migrated database. */
export function sqliteOAuthRepositories (db: Database): { oauthClients: OAuthClientRepository, identities: IdentityRepository } {
  const q = {
    clientById: db.prepare<[string], OAuthClientRow>('SELECT * FROM gk_oauth_clients WHERE id = ?'),
    clients: db.prepare<[], OAuthClientRow>('SELECT * FROM gk_oauth_clients ORDER BY created_at, rowid'),
    insertClient: db.prepare(`INSERT INTO gk_oauth_clients (id, name, secret_hash, previous_secret_hash, previous_secret_expires_at, scopes, created_at, revoked_at)
      VALUES (@id, @name, @secretHash, @previousSecretHash, @previousSecretExpiresAt, @scopes, @createdAt, @revokedAt)`),
    updateClient: db.prepare(`UPDATE gk_oauth_clients SET name = @name, secret_hash = @secretHash, previous_secret_hash = @previousSecretHash,
      previous_secret_expires_at = @previousSecretExpiresAt, scopes = @scopes, revoked_at = @revokedAt WHERE id = @id`),

    identity: db.prepare<[string, string], IdentityRow>('SELECT * FROM gk_identities WHERE issuer = ? AND subject = ?'),
    identitiesByUser: db.prepare<[string], IdentityRow>('SELECT * FROM gk_identities WHERE user_id = ? ORDER BY created_at, rowid'),
    insertIdentity: db.prepare('INSERT INTO gk_identities (issuer, subject, user_id, provider, created_at) VALUES (@issuer, @subject, @userId, @provider, @createdAt)'),
    deleteIdentity: db.prepare('DELETE FROM gk_identities WHERE issuer = ? AND subject = ?')
  }

  const oauthClients: OAuthClientRepository = {
    create: guarded('client id already taken', (c) => {
      q.insertClient.run({
        id: c.id,
        name: c.name,
        secretHash: c.secretHash,
        previousSecretHash: c.previousSecretHash,
        previousSecretExpiresAt: ms(c.previousSecretExpiresAt),
        scopes: JSON.stringify(c.scopes),
        createdAt: c.createdAt.getTime(),
        revokedAt: ms(c.revokedAt)
      })
      return toOAuthClient(present(q.clientById.get(c.id), 'OAuth client'))
    }),
    findById: guarded('', (id) => {
      const row = q.clientById.get(id)
      return row === undefined ? null : toOAuthClient(row)
    }),
    update: guarded('', (id, patch) => db.transaction(() => {
      const row = q.clientById.get(id)
      if (row === undefined) return null
      q.updateClient.run({
        id,
        name: patch.name ?? row.name,
        secretHash: patch.secretHash ?? row.secret_hash,
        previousSecretHash: patch.previousSecretHash === undefined ? row.previous_secret_hash : patch.previousSecretHash,
        previousSecretExpiresAt: patch.previousSecretExpiresAt === undefined ? row.previous_secret_expires_at : ms(patch.previousSecretExpiresAt),
        scopes: patch.scopes === undefined ? row.scopes : JSON.stringify(patch.scopes),
        revokedAt: patch.revokedAt === undefined ? row.revoked_at : ms(patch.revokedAt)
      })
      return toOAuthClient(present(q.clientById.get(id), 'OAuth client'))
    }).immediate()),
    list: guarded('', () => q.clients.all().map(toOAuthClient))
  }

  const identities: IdentityRepository = {
    create: guarded('identity already linked', (i) => {
      q.insertIdentity.run({ issuer: i.issuer, subject: i.subject, userId: i.userId, provider: i.provider, createdAt: i.createdAt.getTime() })
      return toIdentity(present(q.identity.get(i.issuer, i.subject), 'identity'))
    }),
    find: guarded('', (issuer, subject) => {
      const row = q.identity.get(issuer, subject)
      return row === undefined ? null : toIdentity(row)
    }),
    listByUser: guarded('', (userId) => q.identitiesByUser.all(userId).map(toIdentity)),
    delete: guarded('', (issuer, subject) => q.deleteIdentity.run(issuer, subject).changes > 0)
  }

  return { oauthClients, identities }
}
