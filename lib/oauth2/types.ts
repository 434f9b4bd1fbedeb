/**
 * Storage of OAuth 2.0 clients. The shared store contract
 * (`GatekeeperStore`) has no repository for them yet: the `oauth2` plugin
 * takes its own, with an in-memory default. A persistent implementation
 * (over your database) is yours to provide; its rules are those of every
 * store: dates are `Date` objects, records returned are copies.
 */

/** A client of the client-credentials grant (RFC 6749 §4.4) as it is stored. */
export interface ClientRecord {
  /** The public client identifier (`client_id`). */
  id: string
  /** A human-readable name, for listings and audit. */
  name: string
  /** Hex hash of the current secret (never the secret itself). */
  secretHash: string
  /** Hex hash of the secret before the last rotation, valid until `previousSecretExpiresAt`. */
  previousSecretHash: string | null
  /** When the previous secret stops working; `null` when there is none. */
  previousSecretExpiresAt: Date | null
  /** The scopes this client may ask for; a token carries a subset of them. */
  scopes: string[]
  createdAt: Date
  /** Set when the client was revoked; a revoked client never gets a token again. */
  revokedAt: Date | null
}

/** The fields {@link ClientRepository.update} may change. */
export type ClientPatch = Partial<Pick<ClientRecord, 'name' | 'secretHash' | 'previousSecretHash' | 'previousSecretExpiresAt' | 'scopes' | 'revokedAt'>>

/** Where clients live. Every method may raise `GK_STORE_UNAVAILABLE`. */
export interface ClientRepository {
  /** Stores a new client; an id already taken raises `GK_CONFLICT`. */
  create (client: ClientRecord): Promise<ClientRecord>
  /** The client with this id (revoked ones included), or `null`. */
  findById (id: string): Promise<ClientRecord | null>
  /** Changes the given fields; `null` when the client does not exist. */
  update (id: string, patch: ClientPatch): Promise<ClientRecord | null>
  /** Every client, revoked ones included, oldest first. */
  list (): Promise<ClientRecord[]>
}

/** An external identity (an OpenID provider's `iss` + `sub`) linked to a local user. */
export interface IdentityRecord {
  /** The provider's issuer identifier, as in the ID token's `iss`. */
  issuer: string
  /** The user's id at that provider, as in the ID token's `sub`. */
  subject: string
  /** The local user it logs in as. */
  userId: string
  /** The provider's name in the plugin options (`'google'`, `'corp'`). */
  provider: string
  createdAt: Date
}

/** Where identity links live. Every method may raise `GK_STORE_UNAVAILABLE`. */
export interface IdentityRepository {
  /** Links an identity; an `issuer` + `subject` pair already linked raises `GK_CONFLICT` (atomically: of two concurrent calls, one wins). */
  create (identity: IdentityRecord): Promise<IdentityRecord>
  /** The link of this `issuer` + `subject`, or `null`. */
  find (issuer: string, subject: string): Promise<IdentityRecord | null>
  /** Every identity linked to a user. */
  listByUser (userId: string): Promise<IdentityRecord[]>
}
