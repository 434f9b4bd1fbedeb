import type { IssuedToken } from '../jwt/types.js'
import type { RefreshFamilyRecord, RefreshTokenRepository, UserRecord, UserRepository } from '../stores/types.js'
import { deriveSuccessor, generateToken, hashesEqual, hashToken, isTokenFormat } from './token.js'

/** Where a session was opened from (shown in the session list). */
export interface ClientInfo {
  ip: string | null
  userAgent: string | null
}

/** A user as handed to the access-token issuer: never with its password hash. */
export type TokenUser = Omit<UserRecord, 'passwordHash'>

/** What the rotation logic needs; plain functions and repositories, no Fastify. */
export interface RotationDeps {
  tokens: RefreshTokenRepository
  users: Pick<UserRepository, 'findById'>
  now: () => number
  ttlMs: number
  idleMs: number
  /** 0 disables the grace window. */
  graceMs: number
  /** Key of the successor derivation; required when `graceMs > 0`. */
  successorKey: Buffer | null
  /** Issues the access token of a session (`family`: the session it is issued for; `jkt`: the DPoP key it is bound to). */
  issueAccess: (user: TokenUser, family: RefreshFamilyRecord, jkt: string | null) => Promise<IssuedToken>
}

/** A session just opened (a login). */
export interface StartedSession {
  refreshToken: string
  familyId: string
  expiresAt: Date
}

/** The outcome of {@link Rotation.rotate}. */
export type RotationResult =
  /** New tokens. `replay`: the same successor as a moment ago, sent again inside the grace window. */
  | { status: 'ok', access: IssuedToken, refreshToken: string, expiresAt: Date, familyId: string, userId: string, replay: boolean }
  /** A consumed token came back outside the grace window: the family is revoked. `alarm`: raise an anomaly (first sighting). */
  | { status: 'reuse', familyId: string, userId: string, alarm: boolean }
  /** A token of a DPoP-bound family came without a proof by its key (RFC 9449 §5): a theft signal, the family is revoked. */
  | { status: 'unbound', familyId: string, userId: string }
  /** Malformed, unknown, expired or revoked; or its user is gone or disabled. */
  | { status: 'invalid', reason: 'malformed' | 'unknown' | 'user' }

function withoutHash (user: UserRecord): TokenUser {
  const { passwordHash: _omit, ...rest } = user
  return rest
}

/**
 * Refresh-token rotation with reuse detection (RFC 9700 §4.14.2): every
 * refresh consumes the presented token atomically and issues its successor;
 * a consumed token presented again revokes the whole family.
 */
export class Rotation {
  readonly #d: RotationDeps

  constructor (deps: RotationDeps) {
    if (deps.graceMs > 0 && !Buffer.isBuffer(deps.successorKey)) throw new TypeError('a grace window needs a successor key')
    this.#d = deps
  }

  /** Opens a session (a family) for `userId`, bound to the DPoP key `jkt` when given, and returns its first token. */
  async start (userId: string, client: ClientInfo, authentication: { amr?: readonly string[], authTime?: number } = {}, jkt: string | null = null): Promise<StartedSession> {
    const d = this.#d
    const now = d.now()
    const refreshToken = generateToken()
    const familyExpiry = now + d.ttlMs
    const { family, token } = await d.tokens.createFamily(
      {
        userId,
        expiresAt: new Date(familyExpiry),
        ip: client.ip,
        userAgent: client.userAgent,
        // The session remembers how its user authenticated, so its refreshed access tokens say it too.
        authTime: new Date(authentication.authTime ?? now),
        ...(authentication.amr === undefined ? {} : { amr: [...authentication.amr] }),
        ...(jkt === null ? {} : { jkt })
      },
      { hash: hashToken(refreshToken), expiresAt: new Date(Math.min(now + d.idleMs, familyExpiry)) }
    )
    // A store that drops the binding would hand out refresh tokens usable without the key: fail closed.
    if (jkt !== null && family.jkt !== jkt) {
      await d.tokens.revokeFamily(family.id, new Date(now), 'dpop_unsupported')
      throw new Error('the store does not keep the DPoP binding of refresh families (RefreshFamilyRecord.jkt); upgrade the store')
    }
    return { refreshToken, familyId: family.id, expiresAt: token.expiresAt }
  }

  /**
   * Exchanges a presented refresh token for an access token and a successor.
   * `jkt`: the key the request proved it holds (a DPoP proof), `null` without one.
   */
  async rotate (presented: unknown, jkt: string | null = null): Promise<RotationResult> {
    // The format check comes first: nothing malformed reaches the store.
    if (!isTokenFormat(presented)) return { status: 'invalid', reason: 'malformed' }
    const d = this.#d
    const hash = hashToken(presented)
    // What the answer needs is read before the one write (consume): a store that fails on
    // the way answers 503 with nothing written, so the client's retry rotates the token
    // instead of being taken for reuse and ending the session.
    const current = await d.tokens.findByHash(hash)
    if (current === null) return { status: 'invalid', reason: 'unknown' }
    const user = await d.users.findById(current.userId)
    const now = d.now()
    const successor = d.graceMs > 0 ? deriveSuccessor(d.successorKey as Buffer, presented) : generateToken()
    const result = await d.tokens.consume(hash, new Date(now), {
      hash: hashToken(successor),
      expiresAt: new Date(now + d.idleMs)
    })
    if (result.status === 'unknown') return { status: 'invalid', reason: 'unknown' }
    const family = result.family
    // RFC 9449 §5: a bound session's token is good only with a proof by its key; anyone else holding it stole it.
    const bound = family.jkt ?? null
    if (bound !== null && bound !== jkt) {
      await d.tokens.revokeFamily(family.id, new Date(now), 'dpop_key_mismatch')
      return { status: 'unbound', familyId: family.id, userId: family.userId }
    }
    if (result.status === 'reused') {
      const replay = await this.#replay(presented, result.token.consumedAt, result.token.replacedBy, family, user, now, jkt)
      if (replay !== null) return replay
      return this.#reuse(family, now)
    }
    return this.#complete(family, user, successor, result.successor?.expiresAt ?? new Date(now + d.idleMs), false, jkt)
  }

  async #complete (family: RefreshFamilyRecord, user: UserRecord | null, refreshToken: string, tokenExpiry: Date, replay: boolean, jkt: string | null): Promise<RotationResult> {
    const d = this.#d
    if (user === null || user.disabled) {
      // A disabled or deleted account keeps no session.
      await d.tokens.revokeFamily(family.id, new Date(d.now()), 'user_disabled')
      return { status: 'invalid', reason: 'user' }
    }
    const access = await d.issueAccess(withoutHash(user), family, jkt)
    const expiresAt = new Date(Math.min(tokenExpiry.getTime(), family.expiresAt.getTime()))
    return { status: 'ok', access, refreshToken, expiresAt, familyId: family.id, userId: family.userId, replay }
  }

  /**
   * Inside the grace window, the token rotated most recently (its successor
   * still unused) gets that same successor again: the client probably lost
   * the response. The successor is re-derived and checked against its stored
   * hash, so it was never stored in plaintext.
   */
  async #replay (presented: string, consumedAt: Date | null, replacedBy: string | null, family: RefreshFamilyRecord, user: UserRecord | null, now: number, jkt: string | null): Promise<RotationResult | null> {
    const d = this.#d
    if (d.graceMs === 0 || consumedAt === null || replacedBy === null) return null
    if (now >= consumedAt.getTime() + d.graceMs) return null
    if (family.revokedAt !== null || family.expiresAt.getTime() <= now) return null
    const child = await d.tokens.findById(replacedBy)
    if (child === null || child.consumedAt !== null || child.expiresAt.getTime() <= now) return null
    const successor = deriveSuccessor(d.successorKey as Buffer, presented)
    if (!hashesEqual(hashToken(successor), child.hash)) return null
    return this.#complete(family, user, successor, child.expiresAt, true, jkt)
  }

  async #reuse (family: RefreshFamilyRecord, now: number): Promise<RotationResult> {
    const revoked = await this.#d.tokens.revokeFamily(family.id, new Date(now), 'reuse')
    // One alarm per attacked family: the call that revoked it raises it, and so
    // does a replay into a family closed for another reason (a token stolen
    // before a logout is still a theft). Concurrent replays that lost the race
    // to revoke it are recorded but do not raise it again.
    const alarm = revoked || (family.revokedAt !== null && family.revokeReason !== 'reuse')
    return { status: 'reuse', familyId: family.id, userId: family.userId, alarm }
  }
}
