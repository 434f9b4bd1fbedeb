import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { AuthContext } from '../core/types.js'

/**
 * What the store says of a token's subject: the roles it has now, or `null`
 * when it may not act (a missing or disabled user, a missing or revoked
 * OAuth client).
 */
type SubjectState = readonly string[] | null

interface Entry { state: SubjectState, until: number }

/** Most subjects of one kind whose state is kept; the oldest entry goes first. */
const MAX_ENTRIES = 10_000

const sameRoles = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((r, i) => r === b[i])

/**
 * Store answers about one kind of subject, kept `ttlMs` each (0: asked every
 * time); concurrent requests for one subject share one lookup.
 */
class SubjectCache {
  readonly #cache = new Map<string, Entry>()
  readonly #pending = new Map<string, Promise<SubjectState>>()
  /** Bumped by every `forget`: a lookup begun before it does not write its (maybe stale) answer. */
  #generation = 0

  constructor (
    private readonly now: () => number,
    private readonly ttlMs: number,
    private readonly lookup: (id: string) => Promise<SubjectState>
  ) {}

  /** The cached state of `id`, or `undefined` when it must be looked up. */
  cached (id: string): Entry | undefined {
    const hit = this.#cache.get(id)
    return hit !== undefined && this.now() < hit.until ? hit : undefined
  }

  fetch (id: string): Promise<SubjectState> {
    let pending = this.#pending.get(id)
    if (pending === undefined) {
      const p: Promise<SubjectState> = this.#load(id).finally(() => {
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

  async #load (id: string): Promise<SubjectState> {
    const generation = this.#generation
    const state = await this.lookup(id)
    if (this.ttlMs > 0 && generation === this.#generation) {
      this.#cache.delete(id)
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string)
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
 * the store keeps clients.
 */
export class UserCheck {
  readonly #gk: Gatekeeper
  readonly #users: SubjectCache
  /** `null` when the store keeps no OAuth clients (decided once: the store does not change). */
  readonly #clients: SubjectCache | null

  /** The `client_id` of the app's own tokens: no OAuth client to look up. */
  readonly #firstParty: string

  constructor (gk: Gatekeeper, ttlMs: number, firstPartyClientId: string) {
    this.#gk = gk
    this.#firstParty = firstPartyClientId
    const now = (): number => gk.now()
    const { users, oauthClients } = gk.store
    this.#users = new SubjectCache(now, ttlMs, async (id) => {
      const user = await users.findById(id)
      return user === null || user.disabled ? null : Object.freeze([...user.roles])
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
    let cache: SubjectCache
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
    const hit = cache.cached(id)
    if (hit !== undefined) return this.#apply(ctx, hit.state)
    return cache.fetch(id).then((state) => this.#apply(ctx, state))
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
}
