import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { AuthContext } from '../core/types.js'
import type { SessionsEnded, TokenSubject } from './types.js'
import { deleteOldest } from '../core/maps.js'

/**
 * What the store says of a token's subject: the roles it has now, or `null`
 * when it may not act (a missing or disabled user, a missing or revoked
 * OAuth client).
 */
type SubjectState = readonly string[] | null

/** What the store says of a session (refresh family): whose it is and until when it lasts, or `null` when it ended. */
interface SessionState { userId: string, until: number }

interface Entry<S> { state: S, until: number }

/** Most subjects of one kind whose state is kept; the oldest entry goes first. */
const MAX_ENTRIES = 10_000

const sameRoles = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((r, i) => r === b[i])

/**
 * Store answers about one kind of subject, kept `ttlMs` each (0: asked every
 * time); concurrent requests for one subject share one lookup.
 */
class SubjectCache<S> {
  readonly #cache = new Map<string, Entry<S>>()
  readonly #pending = new Map<string, Promise<S>>()
  /** Bumped by every `forget`: a lookup begun before it does not write its (maybe stale) answer. */
  #generation = 0

  constructor (
    private readonly now: () => number,
    private readonly ttlMs: number,
    private readonly lookup: (id: string) => Promise<S>
  ) {}

  /** The cached state of `id`, or `undefined` when it must be looked up. */
  cached (id: string): Entry<S> | undefined {
    const hit = this.#cache.get(id)
    return hit !== undefined && this.now() < hit.until ? hit : undefined
  }

  fetch (id: string): Promise<S> {
    let pending = this.#pending.get(id)
    if (pending === undefined) {
      const p: Promise<S> = this.#load(id).finally(() => {
        if (this.#pending.get(id) === p) this.#pending.delete(id)
      })
      this.#pending.set(id, p)
      pending = p
    }
    return pending
  }

  forget (id: string): void {
    this.#generation++
    this.#cache.delete(id)
    this.#pending.delete(id)
  }

  /** Forgets every entry whose state matches (and every lookup under way, whose answer is not known yet). */
  forgetWhere (match: (state: S) => boolean): void {
    this.#generation++
    for (const [id, entry] of this.#cache) if (match(entry.state)) this.#cache.delete(id)
    this.#pending.clear()
  }

  async #load (id: string): Promise<S> {
    const generation = this.#generation
    const state = await this.lookup(id)
    if (this.ttlMs > 0 && generation === this.#generation) {
      this.#cache.delete(id)
      if (this.#cache.size >= MAX_ENTRIES) deleteOldest(this.#cache)
      this.#cache.set(id, { state, until: this.now() + this.ttlMs })
    }
    return state
  }
}

/**
 * The `checkUser` option of the jwt plugin: an access token is only as good
 * as its subject's record right now. A missing or disabled user's token is
 * refused, and the request carries the user's current roles rather than the
 * token's; an application token naming an OAuth client (`client_id`, issued
 * by the oauth2 plugin) is refused once the client is revoked or gone, when
 * the store keeps clients; a token naming its session (`sid`, the refresh
 * family it was issued for) is refused once that session has ended.
 */
export class UserCheck {
  readonly #gk: Gatekeeper
  readonly #users: SubjectCache<SubjectState>
  /** `null` when the store keeps no OAuth clients (decided once: the store does not change). */
  readonly #clients: SubjectCache<SubjectState> | null
  readonly #sessions: SubjectCache<SessionState | null>

  /** The `client_id` of the app's own tokens: no OAuth client to look up. */
  readonly #firstParty: string

  /** `firstPartyClientId`: the jwt plugin's `clientId`; `rolesOf`: the roles a user acts with (the jwt plugin's role filters). */
  constructor (gk: Gatekeeper, ttlMs: number, firstPartyClientId: string, rolesOf: (user: TokenSubject) => readonly string[] = (user) => user.roles) {
    this.#gk = gk
    this.#firstParty = firstPartyClientId
    const now = (): number => gk.now()
    const { users, oauthClients } = gk.store
    this.#users = new SubjectCache(now, ttlMs, async (id) => {
      const user = await users.findById(id)
      return user === null || user.disabled ? null : Object.freeze([...rolesOf(user)])
    })
    this.#sessions = new SubjectCache(now, ttlMs, async (id) => {
      const family = await gk.store.refreshTokens.findFamily(id)
      return family === null || family.revokedAt !== null ? null : { userId: family.userId, until: family.expiresAt.getTime() }
    })
    this.#clients = oauthClients === undefined
      ? null
      : new SubjectCache(now, ttlMs, async (id) => {
        const client = await oauthClients.findById(id)
        return client === null || client.revokedAt !== null ? null : Object.freeze([])
      })
  }

  /**
   * The caller as the store sees them now; throws `GK_TOKEN_INVALID` when
   * the subject may not act. Synchronous when the subject's state is cached.
   */
  check (ctx: AuthContext): AuthContext | Promise<AuthContext> {
    let cache: SubjectCache<SubjectState>
    let id: string
    if (ctx.kind === 'user') {
      cache = this.#users
      id = ctx.subject
    } else {
      // Application tokens are checked when they name an OAuth client and the store keeps clients.
      const clientId = ctx.claims?.client_id
      if (typeof clientId !== 'string' || clientId === this.#firstParty || this.#clients === null) return ctx
      cache = this.#clients
      id = clientId
    }
    const sid = ctx.claims?.sid
    const hit = cache.cached(id)
    if (typeof sid !== 'string') {
      if (hit !== undefined) return this.#apply(ctx, hit.state)
      return cache.fetch(id).then((state) => this.#apply(ctx, state))
    }
    const session = this.#sessions.cached(sid)
    if (hit !== undefined && session !== undefined) return this.#apply(this.#session(ctx, session.state), hit.state)
    return Promise.all([
      hit === undefined ? cache.fetch(id) : hit.state,
      session === undefined ? this.#sessions.fetch(sid) : session.state
    ]).then(([state, s]) => this.#apply(this.#session(ctx, s), state))
  }

  /** The caller when their session is still on; throws `GK_TOKEN_INVALID` when it ended (or is another subject's). */
  #session (ctx: AuthContext, state: SessionState | null): AuthContext {
    if (state === null || state.userId !== ctx.subject || this.#gk.now() >= state.until) throw new errors.GK_TOKEN_INVALID()
    return ctx
  }

  #apply (ctx: AuthContext, roles: SubjectState): AuthContext {
    if (roles === null) throw new errors.GK_TOKEN_INVALID()
    // An application keeps the roles (none) and scopes of its token.
    if (ctx.kind !== 'user' || sameRoles(roles, ctx.roles)) return ctx
    return Object.freeze({ ...ctx, roles, permissions: this.#gk.permissionsOf(roles) })
  }

  /** Drops what is known of a user (after this instance disabled them or changed their roles). */
  forget (userId: string): void {
    this.#users.forget(userId)
  }

  /** Drops what is known of ended sessions: one by id, or every session of a user. Their tokens are checked again at their next use. */
  forgetSessions (target: SessionsEnded): void {
    if ('sessionId' in target) this.#sessions.forget(target.sessionId)
    else this.#sessions.forgetWhere((s) => s !== null && s.userId === target.userId)
  }
}
