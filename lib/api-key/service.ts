import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { errors, isGatekeeperError, hasCode } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { AuthContext } from '../core/types.js'
import type { ApiKeyRecord } from '../stores/types.js'
import type { IpSpread } from './anomaly.js'
import { VerifiedKeyCache } from './cache.js'
import { generateKey, isWellFormed, keyLength, visibleStart } from './format.js'
import { hashesEqual, type KeyHasher } from './hash.js'
import { MAX_EXPIRES_IN, MAX_OVERLAP, parseDuration, parseName, parseOwnerId, parseRateLimit, parseScopes } from './input.js'
import { TouchQueue } from './touch.js'

/** A key record as shown to people and programs: everything but the hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>

/** What `apiKeys.create` takes. */
export interface CreateApiKeyInput {
  /** The user the key acts for; its permissions bound the key's. */
  ownerId: string
  /** A label for people (1–100 characters). */
  name: string
  /** What the key may do, in the permission syntax (`'posts:read'`); effective permissions are these ∩ the owner's. */
  scopes?: string[]
  /** Lifetime (`'90d'` or ms); omitted or `null`: the key does not expire. */
  expiresIn?: string | number | null
  /** An optional per-key rate limit; `timeWindow` as a duration. */
  rateLimit?: { max: number, timeWindow: string | number } | null
}

/** A new key: the plaintext, shown this once and never again, and its record. */
export interface CreatedApiKey {
  key: string
  record: ApiKeyInfo
}

/** A rotation: the new key and the old key's record with its shortened expiry. */
export interface RotatedApiKey extends CreatedApiKey {
  previous: ApiKeyInfo
}

/** A verified key in the cache. */
interface VerifiedKey {
  readonly id: string
  readonly ownerId: string
  readonly deadline: number
  readonly auth: AuthContext
  /** When this entry last asked the touch queue; spares the queue's lookup on most hits. */
  touchCheckedAt: number
}

/** How often a key's `lastUsedAt` may be written. */
const TOUCH_INTERVAL = 60_000

/** How the service is wired; built by the plugin. */
export interface ApiKeyServiceDeps {
  gk: Gatekeeper
  prefix: string
  hasher: KeyHasher
  cacheMax: number
  cacheTtl: number
  spread: IpSpread | null
  spreadWindow: number
  log: FastifyBaseLogger
}

function invalid (): never {
  // One error for unknown, revoked, expired, malformed: RFC 6750 §3.1 invalid_token, no reason given.
  throw new errors.GK_TOKEN_INVALID()
}

/** The record without its hash, field by field so a store's extra columns never leak. */
export function toInfo (r: ApiKeyRecord): ApiKeyInfo {
  return {
    id: r.id,
    ownerId: r.ownerId,
    name: r.name,
    start: r.start,
    scopes: [...r.scopes],
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    rateLimit: r.rateLimit
  }
}

/** `app.gatekeeper.apiKeys`: create, list, revoke, rotate and verify API keys. */
export class ApiKeyService {
  readonly #gk: Gatekeeper
  readonly #prefix: string
  readonly #keyLength: number
  readonly #hash: KeyHasher
  readonly #cache: VerifiedKeyCache<VerifiedKey>
  readonly #touch: TouchQueue
  readonly #spread: IpSpread | null
  readonly #spreadWindow: number
  readonly #log: FastifyBaseLogger
  readonly #revokedSeen = new Map<string, number>()

  constructor (deps: ApiKeyServiceDeps) {
    this.#gk = deps.gk
    this.#prefix = deps.prefix
    this.#keyLength = keyLength(deps.prefix)
    this.#hash = deps.hasher
    this.#cache = new VerifiedKeyCache(deps.cacheMax, deps.cacheTtl)
    this.#spread = deps.spread
    this.#spreadWindow = deps.spreadWindow
    this.#log = deps.log
    const store = deps.gk.store.apiKeys
    this.#touch = new TouchQueue(
      (id, at) => store.touch(id, at),
      (err, keyId) => { this.#log.warn({ err, keyId }, 'api key lastUsedAt update failed') },
      { intervalMs: TOUCH_INTERVAL }
    )
  }

  /** How many verified keys this instance holds in its cache. */
  get cacheSize (): number {
    return this.#cache.size
  }

  /**
   * Creates a key for `ownerId`. The plaintext is in the result only; the
   * store receives its hash and visible start.
   */
  async create (input: CreateApiKeyInput, request?: FastifyRequest): Promise<CreatedApiKey> {
    if (input === null || typeof input !== 'object') throw new errors.GK_INVALID_REQUEST('expected { ownerId, name, scopes?, expiresIn? }')
    const ownerId = parseOwnerId(input.ownerId)
    const name = parseName(input.name)
    const scopes = parseScopes(input.scopes)
    const ttl = parseDuration(input.expiresIn, 'expiresIn', 60_000, MAX_EXPIRES_IN)
    const rateLimit = parseRateLimit(input.rateLimit)
    const owner = await this.#store(() => this.#gk.store.users.findById(ownerId))
    if (owner === null) throw new errors.GK_INVALID_REQUEST('ownerId does not name a user')
    const expiresAt = ttl === null ? null : new Date(this.#gk.now() + ttl)
    const created = await this.#insert({ ownerId, name, scopes, expiresAt, rateLimit })
    this.#gk.record({
      type: 'apikey.created', outcome: 'success', keyId: created.record.id, ownerId, name, start: created.record.start, scopes, expiresAt
    }, request)
    return created
  }

  /** Every key of an owner (revoked and expired included), oldest first, without hashes. */
  async list (ownerId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.#store(() => this.#gk.store.apiKeys.listByOwner(parseOwnerId(ownerId)))
    return rows.map(toInfo)
  }

  /** Revokes a key at once on this instance; `true` when it existed and was not yet revoked. */
  async revoke (id: string, request?: FastifyRequest): Promise<boolean> {
    if (typeof id !== 'string' || id.length === 0) return false
    const done = await this.#store(() => this.#gk.store.apiKeys.revoke(id, new Date(this.#gk.now())))
    this.#cache.evictId(id)
    if (done) this.#gk.record({ type: 'apikey.revoked', outcome: 'success', keyId: id }, request)
    return done
  }

  /**
   * Replaces a key: a new key with the same owner, name, scopes, expiry and
   * rate limit; the old one keeps working until `overlap` (default `0`: it
   * stops now) ends, so deployments can switch without downtime.
   */
  async rotate (id: string, options: { overlap?: string | number } = {}, request?: FastifyRequest): Promise<RotatedApiKey> {
    const overlap = parseDuration(options?.overlap, 'overlap', 0, MAX_OVERLAP) ?? 0
    const old = typeof id === 'string' && id.length > 0 ? await this.#store(() => this.#gk.store.apiKeys.findById(id)) : null
    if (old === null) throw new errors.GK_NOT_FOUND('api key')
    const now = this.#gk.now()
    if (old.revokedAt !== null || (old.expiresAt !== null && old.expiresAt.getTime() <= now)) {
      throw new errors.GK_CONFLICT('the key is revoked or expired; create a new one')
    }
    // The successor is stored first: if that fails, the old key still works.
    const created = await this.#insert({ ownerId: old.ownerId, name: old.name, scopes: old.scopes, expiresAt: old.expiresAt, rateLimit: old.rateLimit })
    const until = new Date(now + overlap)
    await this.#store(() => this.#gk.store.apiKeys.expire(id, until))
    this.#cache.evictId(id)
    const previous = toInfo(old)
    if (previous.expiresAt === null || previous.expiresAt.getTime() > until.getTime()) previous.expiresAt = until
    this.#gk.record({
      type: 'apikey.rotated', outcome: 'success', keyId: created.record.id, previousKeyId: id, ownerId: old.ownerId, overlapUntil: until
    }, request)
    return { ...created, previous }
  }

  /** The caller a key stands for, or `null` when it is not a valid key (store failures still throw). */
  async verify (key: string): Promise<AuthContext | null> {
    if (typeof key !== 'string') return null
    try {
      return await this.check(key)
    } catch (err) {
      if (hasCode(err, 'GK_TOKEN_INVALID')) return null
      throw err
    }
  }

  /** Drops a key from this instance's cache (the cross-instance revocation bus calls it). */
  evict (id: string): void {
    this.#cache.evictId(id)
  }

  /** @internal Waits for queued `lastUsedAt` writes (at shutdown). */
  async drain (): Promise<void> {
    await this.#touch.drain()
  }

  /**
   * @internal Verifies a presented key. A cache hit answers synchronously;
   * otherwise the store is read. Throws GK_TOKEN_INVALID for every bad key.
   */
  check (key: string, request?: FastifyRequest): AuthContext | Promise<AuthContext> {
    // The length check bounds the hashing work an attacker can ask for.
    if (key.length !== this.#keyLength) invalid()
    const hash = this.#hash(key)
    const now = this.#gk.now()
    const hit = this.#cache.get(hash, now)
    if (hit !== undefined) {
      // A hash equal to a verified key's is that key: its checksum was checked when it was verified.
      this.#used(hit, request, now)
      return hit.auth
    }
    // The checksum refuses typos and random guesses before any store read.
    if (!isWellFormed(key, this.#prefix)) invalid()
    return this.#load(hash, request, now)
  }

  async #load (hash: string, request: FastifyRequest | undefined, now: number): Promise<AuthContext> {
    const generation = this.#cache.generation
    const record = await this.#store(() => this.#gk.store.apiKeys.findByHash(hash))
    // Compared again in constant time: a store whose lookup is case-insensitive or by prefix must not let a near-miss in.
    if (record === null || !hashesEqual(record.hash, hash)) invalid()
    if (record.revokedAt !== null) {
      this.#usedAfterRevoke(record, request, now)
      invalid()
    }
    if (record.expiresAt !== null && record.expiresAt.getTime() <= now) invalid()
    const owner = await this.#store(() => this.#gk.store.users.findById(record.ownerId))
    if (owner === null || owner.disabled || owner.id !== record.ownerId) invalid()
    const roles = Object.freeze([...owner.roles])
    const auth: AuthContext = Object.freeze({
      strategy: 'apiKey',
      kind: 'application' as const,
      subject: owner.id,
      keyId: record.id,
      scopes: Object.freeze([...record.scopes]),
      roles,
      permissions: this.#gk.permissionsOf(roles)
    })
    const entry: VerifiedKey = {
      id: record.id,
      ownerId: owner.id,
      deadline: this.#cache.deadlineFrom(now, record.expiresAt === null ? null : record.expiresAt.getTime()),
      auth,
      touchCheckedAt: -Infinity
    }
    this.#cache.set(hash, entry, generation)
    if (record.lastUsedAt !== null) this.#touch.seed(record.id, record.lastUsedAt.getTime())
    this.#used(entry, request, now)
    return auth
  }

  #used (entry: VerifiedKey, request: FastifyRequest | undefined, now: number): void {
    if (now - entry.touchCheckedAt >= TOUCH_INTERVAL) {
      entry.touchCheckedAt = now
      this.#touch.used(entry.id, now)
    }
    if (this.#spread === null || request === undefined) return
    const ips = this.#spread.observe(entry.id, request.ip, now)
    if (ips > 0) {
      this.#log.warn({ keyId: entry.id, ips }, 'api key used from many addresses')
      this.#gk.emit('anomaly', { type: 'apikey.many_ips', keyId: entry.id, ownerId: entry.ownerId, ips, windowMs: this.#spreadWindow })
    }
  }

  #usedAfterRevoke (record: ApiKeyRecord, request: FastifyRequest | undefined, now: number): void {
    // At most one event per key a minute: a client stuck on a revoked key must not flood the trail.
    const last = this.#revokedSeen.get(record.id)
    if (last !== undefined && now - last < 60_000) return
    if (this.#revokedSeen.size >= 10_000) this.#revokedSeen.clear()
    this.#revokedSeen.set(record.id, now)
    this.#gk.record({
      type: 'apikey.used_after_revoke', outcome: 'failure', reason: 'GK_TOKEN_INVALID', keyId: record.id, ownerId: record.ownerId, revokedAt: record.revokedAt
    }, request)
  }

  async #insert (fields: { ownerId: string, name: string, scopes: string[], expiresAt: Date | null, rateLimit: ApiKeyRecord['rateLimit'] }): Promise<CreatedApiKey> {
    for (let attempt = 0; ; attempt++) {
      const key = generateKey(this.#prefix)
      try {
        const record = await this.#store(() => this.#gk.store.apiKeys.create({ ...fields, scopes: [...fields.scopes], hash: this.#hash(key), start: visibleStart(key, this.#prefix) }))
        return { key, record: toInfo(record) }
      } catch (err) {
        // A hash collision of 178-bit keys means a broken generator or store, not bad luck: retry once, then fail.
        if (!hasCode(err, 'GK_CONFLICT') || attempt > 0) throw err
      }
    }
  }

  async #store<T> (call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      if (isGatekeeperError(err)) throw err
      this.#log.error({ err }, 'api key store failed')
      throw new errors.GK_STORE_UNAVAILABLE()
    }
  }
}
