import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { AuthContext } from '../core/types.js'

/** What the store says of a user: their current roles, or `null` when they may not act (missing or disabled). */
type UserState = readonly string[] | null

interface Entry { state: UserState, until: number }

/** Most users whose state is kept; the oldest entry goes first. */
const MAX_ENTRIES = 10_000

const sameRoles = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((r, i) => r === b[i])

/**
 * The `checkUser` option of the jwt plugin: a user's access token is only as
 * good as the user's account right now. A missing or disabled user's token is
 * refused, and the request carries the user's current roles rather than the
 * token's. Store answers are kept `ttlMs` per user (0: asked every time);
 * concurrent requests of one user share one lookup.
 */
export class UserCheck {
  readonly #gk: Gatekeeper
  readonly #ttlMs: number
  readonly #cache = new Map<string, Entry>()
  readonly #pending = new Map<string, Promise<UserState>>()
  /** Bumped by every `forget`: a lookup begun before it does not write its (maybe stale) answer. */
  #generation = 0

  constructor (gk: Gatekeeper, ttlMs: number) {
    this.#gk = gk
    this.#ttlMs = ttlMs
  }

  /**
   * The caller as the store sees them now; throws `GK_TOKEN_INVALID` for a
   * missing or disabled user. Synchronous when the user's state is cached.
   */
  check (ctx: AuthContext): AuthContext | Promise<AuthContext> {
    // Application tokens (client credentials) name a client, not a user.
    if (ctx.kind !== 'user') return ctx
    const hit = this.#cache.get(ctx.subject)
    if (hit !== undefined && this.#gk.now() < hit.until) return this.#apply(ctx, hit.state)
    return this.#fetch(ctx.subject).then((state) => this.#apply(ctx, state))
  }

  #apply (ctx: AuthContext, roles: UserState): AuthContext {
    if (roles === null) throw new errors.GK_TOKEN_INVALID()
    if (sameRoles(roles, ctx.roles)) return ctx
    return Object.freeze({ ...ctx, roles, permissions: this.#gk.permissionsOf(roles) })
  }

  /** Drops what is known of a user (after this instance disabled them or changed their roles). */
  forget (userId: string): void {
    this.#generation++
    this.#cache.delete(userId)
    this.#pending.delete(userId)
  }

  /** One store lookup per user at a time: concurrent requests share it. */
  #fetch (userId: string): Promise<UserState> {
    let pending = this.#pending.get(userId)
    if (pending === undefined) {
      const p: Promise<UserState> = this.#lookup(userId).finally(() => {
        if (this.#pending.get(userId) === p) this.#pending.delete(userId)
      })
      this.#pending.set(userId, p)
      pending = p
    }
    return pending
  }

  async #lookup (userId: string): Promise<UserState> {
    const generation = this.#generation
    const user = await this.#gk.store.users.findById(userId)
    const state = user === null || user.disabled ? null : Object.freeze([...user.roles])
    if (this.#ttlMs > 0 && generation === this.#generation) {
      this.#cache.delete(userId)
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string)
      this.#cache.set(userId, { state, until: this.#gk.now() + this.#ttlMs })
    }
    return state
  }
}
