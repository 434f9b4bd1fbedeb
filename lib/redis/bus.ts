import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { isRecord, stringsOf } from '../core/json.js'
import type { RedisClient } from './options.js'
import { PUBLISH, RECENT, run } from './scripts.js'

/** The kinds of revocation the bus carries. */
export const REVOCATION_KINDS = ['apikey', 'session', 'user-sessions'] as const

/**
 * What a revocation names: an API key by id, a session (refresh family) by
 * id, or every session of a user by the user's id.
 */
export interface Revocation {
  kind: typeof REVOCATION_KINDS[number]
  id: string
}

function isKind (k: unknown): k is Revocation['kind'] {
  return REVOCATION_KINDS.some((kind) => kind === k)
}

/** Options of {@link RevocationBus}. */
export interface RevocationBusOptions {
  /** The ioredis client to publish with; the bus subscribes on a duplicate of it. */
  client: RedisClient
  /** Prefix of the channel (`<prefix>revocations`) and of the log (`<prefix>revoked`). */
  prefix: string
  log: FastifyBaseLogger
  /** Called for each revocation made by another instance (and again on a resync). */
  onRevoke: (revocation: Revocation) => void
}

/** How long revocations stay in the log: longer than the longest API key cache TTL (10 min). */
export const LOG_KEEP_MS = 11 * 60_000
const LOG_KEEP_COUNT = 10_000
const MAX_PENDING = 10_000
const MAX_ID_LENGTH = 200

function parse (message: string): { revocation: Revocation, origin: string } | null {
  try {
    const m: unknown = JSON.parse(message)
    if (!isRecord(m) || !isKind(m.k) || typeof m.id !== 'string' || m.id.length === 0 || m.id.length > MAX_ID_LENGTH || typeof m.o !== 'string') return null
    return { revocation: { kind: m.k, id: m.id }, origin: m.o }
  } catch {
    return null
  }
}

/**
 * Tells every instance that an API key was revoked or rotated, or that
 * sessions ended, so each drops them from its caches at once (the API key
 * verification cache, the jwt plugin's `checkUser` cache) instead of
 * serving them until the cache entry expires.
 *
 * - Publishing logs the revocation in a sorted set and publishes it on a
 *   channel in one Lua script; other instances hear it within milliseconds.
 * - Subscribing uses a duplicate of the client (a subscribed connection can
 *   do nothing else). After that connection comes back from an outage,
 *   the bus replays the log of the last {@link LOG_KEEP_MS}: whatever was
 *   published while it was away is evicted too.
 * - A revocation that cannot be published (Redis down or stalled) is kept
 *   and sent when the client is ready again or the next publication succeeds.
 */
export class RevocationBus {
  /** The pub/sub channel. */
  readonly channel: string
  /** The sorted set of recent revocations. */
  readonly logKey: string
  /** This instance's id: its own messages are not applied twice. */
  readonly origin = randomBytes(9).toString('base64url')
  readonly #o: RevocationBusOptions
  readonly #pending = new Map<string, Revocation>()
  #sub: RedisClient | null = null
  #subDown = false
  #closed = false
  // flush and the replay never reject: they log their failures.
  readonly #onClientReady = (): void => { this.flush().catch(() => {}) }

  constructor (options: RevocationBusOptions) {
    this.#o = options
    this.channel = `${options.prefix}revocations`
    this.logKey = `${options.prefix}revoked`
  }

  /** Revocations waiting for Redis to come back. */
  get pending (): number {
    return this.#pending.size
  }

  /** Subscribes; resolves once the subscription is active. */
  async start (): Promise<void> {
    const sub = this.#o.client.duplicate()
    this.#sub = sub
    sub.on('error', (err: Error) => {
      if (this.#subDown) return
      this.#subDown = true
      this.#o.log.warn({ err }, 'gatekeeper: the revocation bus lost Redis; it replays missed revocations when Redis is back')
    })
    sub.on('ready', () => { this.#reconnected().catch(() => {}) })
    sub.on('message', (channel: string, message: string) => { this.#message(channel, message) })
    this.#o.client.on('ready', this.#onClientReady)
    await sub.subscribe(this.channel)
  }

  /**
   * Publishes a revocation to the other instances. Never throws: when Redis
   * cannot be reached the revocation is kept and sent once it can.
   * Resolves to whether it was sent now.
   */
  async publish (revocation: Revocation): Promise<boolean> {
    const member = `${revocation.kind}:${revocation.id}`
    const message = JSON.stringify({ k: revocation.kind, id: revocation.id, o: this.origin })
    try {
      if (this.#o.client.status !== 'ready') throw new Error('Redis is not connected')
      await run(this.#o.client, PUBLISH, [this.logKey], [this.channel, message, member, LOG_KEEP_MS, LOG_KEEP_COUNT])
      // Redis answers again without having reconnected (it had stalled): send what was kept.
      if (this.#pending.size > 0) this.flush().catch(() => {})
      return true
    } catch (err) {
      if (this.#closed) return false
      const oldest = this.#pending.keys().next()
      if (this.#pending.size >= MAX_PENDING && oldest.done !== true) this.#pending.delete(oldest.value)
      this.#pending.set(member, revocation)
      this.#o.log.warn({ err, kind: revocation.kind, id: revocation.id }, 'gatekeeper: could not publish a revocation; it is sent when Redis is back (other instances drop it when their cache entry expires)')
      return false
    }
  }

  /** Sends the revocations kept while Redis was unreachable. */
  async flush (): Promise<void> {
    const waiting = [...this.#pending.values()]
    this.#pending.clear()
    for (const r of waiting) await this.publish(r)
  }

  /** Applies every revocation of the log (the last {@link LOG_KEEP_MS}); returns how many. */
  async resync (): Promise<number> {
    const members = stringsOf(await run(this.#o.client, RECENT, [this.logKey], [LOG_KEEP_MS]))
    let n = 0
    for (const member of members) {
      const colon = member.indexOf(':')
      const kind = member.slice(0, colon)
      if (!isKind(kind)) continue
      this.#apply({ kind, id: member.slice(colon + 1) })
      n++
    }
    return n
  }

  /** Unsubscribes and closes the subscriber connection (the client stays open: it is yours). */
  async close (): Promise<void> {
    this.#closed = true
    this.#o.client.removeListener('ready', this.#onClientReady)
    const sub = this.#sub
    this.#sub = null
    sub?.disconnect()
  }

  async #reconnected (): Promise<void> {
    this.#subDown = false
    if (this.#closed || this.#sub === null) return
    try {
      // Subscribed (again) before replaying, so nothing falls between the replay and the subscription.
      // Replaying at the first connection is cheap (the cache is empty) and covers a start without Redis.
      await this.#sub.subscribe(this.channel)
      const n = await this.resync()
      this.#o.log.info({ replayed: n }, 'gatekeeper: the revocation bus is subscribed; recent revocations replayed')
    } catch (err) {
      this.#o.log.warn({ err }, 'gatekeeper: the revocation bus could not replay missed revocations')
    }
  }

  #message (channel: string, message: string): void {
    if (channel !== this.channel || this.#closed) return
    const m = parse(message)
    if (m === null) {
      this.#o.log.warn('gatekeeper: ignored a malformed message on the revocation channel')
      return
    }
    if (m.origin !== this.origin) this.#apply(m.revocation)
  }

  #apply (revocation: Revocation): void {
    if (this.#closed) return
    try {
      this.#o.onRevoke(revocation)
    } catch (err) {
      this.#o.log.error({ err, kind: revocation.kind, id: revocation.id }, 'gatekeeper: applying a revocation failed')
    }
  }
}
