import type { FastifyRequest } from 'fastify'
import type { Duration } from '../core/duration.js'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { generateKey, randomBase62 } from '../api-key/format.js'
import { hashesEqual, type KeyHasher } from '../api-key/hash.js'
import { MAX_OVERLAP, parseDuration, parseName, parseScopes } from '../api-key/input.js'
import type { OAuthClientRecord, OAuthClientRepository } from '../stores/types.js'

/** A client as listings show it: the record without its secret hashes. */
export type ClientInfo = Omit<OAuthClientRecord, 'secretHash' | 'previousSecretHash'>

/** What `clients.create` takes. */
export interface CreateClientInput {
  /** A human-readable name (1–100 characters). */
  name: string
  /** The scopes the client may ask for: at least one, in the `resource:action` syntax. */
  scopes: string[]
}

/** A new client, with its secret. The secret is shown this once and never again. */
export interface CreatedClient extends ClientInfo {
  secret: string
}

/** The answer of `clients.rotate`: the new secret, shown once. */
export interface RotatedClient extends ClientInfo {
  secret: string
}

/** Longest `client_id` or `client_secret` looked at; longer ones are refused unread. */
export const MAX_CREDENTIAL_LENGTH = 256

/** `app.gatekeeper.oauth2.clients`: the clients of the client-credentials grant. */
export interface ClientApi {
  /** Creates a client with a fresh id and secret (stored hashed). */
  create (input: CreateClientInput, request?: FastifyRequest): Promise<CreatedClient>
  /**
   * Gives a client a new secret. With `overlap` (at most `'30d'`), the old
   * secret keeps working that long, so deployments can switch without
   * downtime; without it, the old secret stops at once. `GK_NOT_FOUND` for
   * an unknown or revoked client.
   */
  rotate (id: string, opts?: { overlap?: Duration }, request?: FastifyRequest): Promise<RotatedClient>
  /** Revokes a client: no token is issued to it again (tokens already issued live until they expire). `GK_NOT_FOUND` for an unknown id. */
  revoke (id: string, request?: FastifyRequest): Promise<ClientInfo>
  /** Every client, revoked ones included. */
  list (): Promise<ClientInfo[]>
  /** The client this id and secret belong to, or `null` (unknown, revoked, wrong secret alike). */
  authenticate (id: string, secret: string): Promise<ClientInfo | null>
}

/** Whether `id` has the shape of the ids `create` issues (`cid_` and 24 base62 characters): only those are logged as they are. */
export function isIssuedClientId (id: string): boolean {
  return /^cid_[0-9A-Za-z]{24}$/.test(id)
}

/** A `client_id` this service could have issued: 1-256 printable ASCII characters (RFC 6749 Appendix A.1). */
const isClientId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_CREDENTIAL_LENGTH && /^[\x20-\x7e]+$/.test(id)

function info (c: OAuthClientRecord): ClientInfo {
  const { secretHash: _s, previousSecretHash: _p, ...rest } = c
  return rest
}

/** Makes the client service over a repository. */
export function clientService (gk: Gatekeeper, repo: OAuthClientRepository, hash: KeyHasher, secretPrefix: string): ClientApi {
  // Hashed for an unknown client too, so its answer takes what a wrong secret takes.
  const dummy = hash(generateKey(secretPrefix))

  async function active (id: string): Promise<OAuthClientRecord> {
    const c = isClientId(id) ? await repo.findById(id) : null
    if (c === null || c.revokedAt !== null) throw new errors.GK_NOT_FOUND('client')
    return c
  }

  return {
    async create (input, request) {
      if (input === null || typeof input !== 'object') throw new errors.GK_INVALID_REQUEST('create takes { name, scopes }')
      const name = parseName(input.name)
      const scopes = parseScopes(input.scopes)
      if (scopes.length === 0) throw new errors.GK_INVALID_REQUEST('a client needs at least one scope')
      const secret = generateKey(secretPrefix)
      const record = await repo.create({
        id: `cid_${randomBase62(24)}`,
        name,
        secretHash: hash(secret),
        previousSecretHash: null,
        previousSecretExpiresAt: null,
        scopes,
        createdAt: new Date(gk.now()),
        revokedAt: null
      })
      gk.record({ type: 'oauth.client_created', outcome: 'success', clientId: record.id, scopes }, request)
      return { ...info(record), secret }
    },

    async rotate (id, opts = {}, request) {
      const overlap = parseDuration(opts.overlap, 'overlap', 0, MAX_OVERLAP) ?? 0
      const current = await active(id)
      const secret = generateKey(secretPrefix)
      const updated = await repo.update(current.id, {
        secretHash: hash(secret),
        previousSecretHash: overlap > 0 ? current.secretHash : null,
        previousSecretExpiresAt: overlap > 0 ? new Date(gk.now() + overlap) : null
      })
      if (updated === null) throw new errors.GK_NOT_FOUND('client')
      gk.record({ type: 'oauth.client_rotated', outcome: 'success', clientId: id, overlapMs: overlap }, request)
      return { ...info(updated), secret }
    },

    async revoke (id, request) {
      const c = isClientId(id) ? await repo.findById(id) : null
      if (c === null) throw new errors.GK_NOT_FOUND('client')
      if (c.revokedAt !== null) return info(c)
      const updated = await repo.update(id, { revokedAt: new Date(gk.now()), previousSecretHash: null, previousSecretExpiresAt: null })
      if (updated === null) throw new errors.GK_NOT_FOUND('client')
      gk.record({ type: 'oauth.client_revoked', outcome: 'success', clientId: id }, request)
      return info(updated)
    },

    async list () {
      return (await repo.list()).map(info)
    },

    async authenticate (id, secret) {
      if (!isClientId(id) || typeof secret !== 'string' || secret.length > MAX_CREDENTIAL_LENGTH) return null
      const presented = hash(secret)
      const c = await repo.findById(id)
      if (c === null) {
        hashesEqual(presented, dummy)
        return null
      }
      // Both comparisons always run (constant time per hash, RFC 6749 §10.10 guessing attacks).
      const current = hashesEqual(presented, c.secretHash)
      const previousValid = c.previousSecretHash !== null && c.previousSecretExpiresAt !== null &&
        gk.now() < c.previousSecretExpiresAt.getTime()
      const previous = hashesEqual(presented, c.previousSecretHash ?? dummy) && previousValid
      if (c.revokedAt !== null || !(current || previous)) return null
      return info(c)
    }
  }
}
