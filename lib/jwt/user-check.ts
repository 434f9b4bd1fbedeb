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

/** Most subjects whose state is kept; the oldest entry goes first. */
const MAX_ENTRIES = 10_000

const sameRoles = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((r, i) => r === b[i])

/** The cache key of a subject: users and OAuth clients live in different tables, so in different key spaces. */
const userKey = (id: string): string => `u:${id}`
const clientKey = (id: string): string => `c:${id}`

/**
 * The `checkUser` option of the jwt plugin: an access token is only as good
 * as its subject's record right now. A missing or disabled user's token is
 * refused, and the request carries the user's current roles rather than the
 * token's; an application token naming an OAuth client (`client_id`, issued
 * by the oauth2 plugin) is refused once the client is revoked or gone. Store
 * answers are kept `ttlMs` per subject (0: asked every time); concurrent
 * requests of one subject share one lookup.
 */
export class UserCheck {
  readonly #gk: Gatekeeper
  readonly #ttlMs: number
  readonly #cache = new Map<string, Entry>()
  readonly #pending = new Map<string, Promise<SubjectState>>()
  /** Bumped by every `forget`: a lookup begun before it does not write its (maybe stale) answer. */
  #generation = 0

  constructor (gk: Gatekeeper, ttlMs: number) {
    this.#gk = gk
    this.#ttlMs = ttlMs
  }

  /**
   * The caller as the store sees them now; throws `GK_TOKEN_INVALID` when
   * the subject may not act. Synchronous when the subject's state is cached.
   */
  check (ctx: AuthContext): AuthContext | Promise<AuthContext> {
    let key: string
    if (ctx.kind === 'user') key = userKey(ctx.subject)
    else {
      // Application tokens are checked when they name an OAuth client and the store keeps clients.
      const clientId = ctx.claims?.client_id
      if (typeof clientId !== 'string' || this.#gk.store.oauthClients === undefined) return ctx
      key = clientKey(clientId)
    }
    const hit = this.#cache.get(key)
    if (hit !== undefined && this.#gk.now() < hit.until) return this.#apply(ctx, hit.state)
    return this.#fetch(key).then((state) => this.#apply(ctx, state))
  }

  #apply (ctx: AuthContext, roles: SubjectState): AuthContext {
    if (roles === null) throw new errors.GK_TOKEN_INVALID()
    // An application keeps the roles (none) and scopes of its token.
    if (ctx.kind !== 'user' || sameRoles(roles, ctx.roles)) return ctx
    return Object.freeze({ ...ctx, roles, permissions: this.#gk.permissionsOf(roles) })
  }

  /** Drops what is known of a user (after this instance disabled them or changed their roles). */
  forget (userId: string): void {
    this.#generation++
    this.#cache.delete(userKey(userId))
    this.#pending.delete(userKey(userId))
  }

  /** One store lookup per subject at a time: concurrent requests share it. */
  #fetch (key: string): Promise<SubjectState> {
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      const p: Promise<SubjectState> = this.#lookup(key).finally(() => {
        if (this.#pending.get(key) === p) this.#pending.delete(key)
      })
      this.#pending.set(key, p)
      pending = p
    }
    return pending
  }

  async #lookup (key: string): Promise<SubjectState> {
    const generation = this.#generation
    const id = key.slice(2)
    let state: SubjectState
    if (key.startsWith('u:')) {
      const user = await this.#gk.store.users.findById(id)
      state = user === null || user.disabled ? null : Object.freeze([...user.roles])
    } else {
      const client = await (this.#gk.store.oauthClients as NonNullable<Gatekeeper['store']['oauthClients']>).findById(id)
      state = client === null || client.revokedAt !== null ? null : Object.freeze([])
    }
    if (this.#ttlMs > 0 && generation === this.#generation) {
      this.#cache.delete(key)
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string)
      this.#cache.set(key, { state, until: this.#gk.now() + this.#ttlMs })
    }
    return state
  }
}
