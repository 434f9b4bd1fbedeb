import { createHash, randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { JwtApi, PublicUser, TokenApi } from '../jwt/types.js'
import type { ChallengeRecord, ChallengeRepository, GatekeeperStore } from '../stores/types.js'
import type { NormalizedMfaOptions } from './options.js'
import type { SecondFactor } from './types.js'

/** A challenge value: 256 random bits, base64url (43 characters). */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/

const hashOf = (challenge: string): string => createHash('sha256').update(challenge).digest('hex')

/** What a pending step-up keeps in its challenge. */
interface StepUpData {
  /** The session (refresh family) the token named, if it named one. */
  sid: string | null
  /** The methods the caller had already proved (its token's amr, plus `pwd` when it gave its password). */
  amr: string[]
}

function publicOf (user: { passwordHash?: unknown } & PublicUser): PublicUser {
  const { passwordHash: _drop, ...rest } = user
  return rest
}

/** The RFC 8176 `amr` of a completed authentication: the methods, plus `mfa` when a second factor joined a password. */
export function combineAmr (...parts: ReadonlyArray<readonly string[]>): string[] {
  const set = new Set<string>(parts.flat())
  set.delete('mfa')
  const all = [...set]
  if (set.has('pwd') && all.some((m) => m !== 'pwd')) all.push('mfa')
  return all
}

/** The two-step login and the step-up, over the registered factors. */
export class MfaFlow {
  readonly #gk: Gatekeeper
  readonly #jwt: JwtApi
  readonly #tokens: TokenApi
  readonly #o: NormalizedMfaOptions
  readonly #challenges: ChallengeRepository
  readonly #store: GatekeeperStore
  readonly factors: SecondFactor[] = []

  constructor (gk: Gatekeeper, jwt: JwtApi, tokens: TokenApi, o: NormalizedMfaOptions, challenges: ChallengeRepository) {
    this.#gk = gk
    this.#jwt = jwt
    this.#tokens = tokens
    this.#o = o
    this.#challenges = challenges
    this.#store = gk.store
  }

  /** The user's enrolled factors, and whether any is primary (a second step is needed). */
  async enrolled (userId: string): Promise<{ factors: SecondFactor[], required: boolean }> {
    const factors: SecondFactor[] = []
    for (const f of this.factors) if (await f.enrolled(userId)) factors.push(f)
    return { factors, required: factors.some((f) => f.primary) }
  }

  /**
   * Makes a pending second step for `user` and the `mfa_required` answer;
   * `null` when the user has no primary factor.
   */
  async pending (user: PublicUser, request: FastifyRequest, stepUp: StepUpData | null): Promise<Record<string, unknown> | null> {
    const { factors, required } = await this.enrolled(user.id)
    if (!required) return null
    const value = randomBytes(32).toString('base64url')
    const data: Record<string, unknown> = { stepUp }
    const answer: Record<string, unknown> = {}
    for (const f of factors) {
      const started = await f.begin?.(user, request)
      if (started?.data !== undefined) data[f.name] = started.data
      if (started?.response !== undefined) Object.assign(answer, started.response)
    }
    const now = this.#gk.now()
    await this.#challenges.create({ hash: hashOf(value), kind: 'mfa_login', userId: user.id, data, expiresAt: new Date(now + this.#o.challengeTtlMs) })
    this.#gk.record({ type: stepUp === null ? 'mfa.required' : 'mfa.step_up_required', outcome: 'info', subject: user.id, userId: user.id, methods: factors.map((f) => f.name) }, request)
    return { ...answer, status: 'mfa_required', challenge: value, methods: factors.map((f) => f.name), expiresIn: Math.floor(this.#o.challengeTtlMs / 1000) }
  }

  /** `POST /api/login/mfa`: checks the answer to a pending challenge and completes the login or step-up. */
  async complete (body: Record<string, unknown>, request: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> {
    const { challenge, ...answers } = body
    if (typeof challenge !== 'string' || challenge.length > 256) throw new errors.GK_INVALID_REQUEST('challenge must be the string the login answered')
    const given = Object.keys(answers)
    const factor = this.factors.find((f) => f.field === given[0])
    if (given.length !== 1 || factor === undefined) throw new errors.GK_INVALID_REQUEST(`give the challenge and exactly one of ${this.factors.map((f) => f.field).join(', ')}`)
    const answer = answers[factor.field]
    const malformed = (factor.answer ?? 'string') === 'string'
      ? typeof answer !== 'string' || answer.length === 0 || answer.length > 64
      : answer === null || typeof answer !== 'object' || Array.isArray(answer)
    if (malformed) throw new errors.GK_INVALID_REQUEST(`${factor.field} is malformed`)

    const now = this.#gk.now()
    const hash = CHALLENGE.test(challenge) ? hashOf(challenge) : null
    const record = hash === null ? null : await this.#challenges.find(hash, 'mfa_login', new Date(now))
    const user = record?.userId == null ? null : await this.#store.users.findById(record.userId)
    if (record === null || hash === null || user === null || user.disabled) {
      this.#gk.record({ type: 'mfa.failure', outcome: 'failure', reason: 'GK_INVALID_GRANT', cause: record === null ? 'challenge' : 'user', factor: factor.name, userId: record?.userId ?? null }, request)
      throw new errors.GK_INVALID_GRANT()
    }
    const pub = publicOf(user)
    const stepUp = (record.data.stepUp ?? null) as StepUpData | null
    // A step-up challenge is bound to the session that asked for it: only that user's access token completes it.
    if (stepUp !== null && request.auth?.subject !== user.id) {
      this.#gk.record({ type: 'mfa.failure', outcome: 'failure', reason: 'GK_INVALID_GRANT', cause: 'session', factor: factor.name, userId: user.id }, request)
      throw new errors.GK_INVALID_GRANT()
    }
    // Brute-force protection: a locked account answers 429 before any code is checked.
    const attempt = await this.#jwt.guardAttempt(request, pub)
    let proof: { amr: string[] } | null
    try {
      proof = await factor.verify(pub, answer, { challenge: record, request, now })
    } catch (err) {
      await attempt.release(err)
      throw err
    }
    if (proof === null) {
      await attempt.failure()
      const left = await this.#challenges.fail(hash, 'mfa_login', new Date(now), this.#o.maxAttempts)
      this.#gk.record({ type: 'mfa.failure', outcome: 'failure', reason: 'GK_INVALID_CREDENTIALS', cause: 'wrong_answer', factor: factor.name, subject: user.id, userId: user.id, attemptsLeft: left ?? 0 }, request)
      throw new errors.GK_INVALID_CREDENTIALS()
    }
    // Single use: of concurrent right answers to one challenge, one completes.
    if (await this.#challenges.consume(hash, 'mfa_login', new Date(now)) === null) {
      await attempt.release()
      this.#gk.record({ type: 'mfa.failure', outcome: 'failure', reason: 'GK_INVALID_GRANT', cause: 'challenge', factor: factor.name, userId: user.id }, request)
      throw new errors.GK_INVALID_GRANT()
    }
    this.#gk.record({ type: 'mfa.verified', outcome: 'success', subject: user.id, userId: user.id, factor: factor.name }, request)
    if (stepUp === null) {
      // Success guards (the lockout is cleared) run inside completeLogin.
      await attempt.release()
      return await this.#jwt.completeLogin(pub, request, reply, { method: 'password', factor: factor.name }, { amr: combineAmr(['pwd'], proof.amr), authTime: now })
    }
    await attempt.success()
    return await this.reissue(pub, stepUp.sid, combineAmr(stepUp.amr, proof.amr), now, request, reply)
  }

  /** A step-up completed: a new access token for the same session, which remembers the new authentication. */
  async reissue (user: PublicUser, sid: string | null, amr: string[], now: number, request: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> {
    if (sid !== null) await this.#store.refreshTokens.reauthenticate?.(sid, new Date(now), amr)
    const issued = await this.#tokens.issue(user, { ...(sid === null ? {} : { sessionId: sid }), amr, authTime: now })
    this.#jwt.setAccessCookie(reply, issued)
    this.#gk.record({ type: 'mfa.step_up', outcome: 'success', subject: user.id, userId: user.id, amr }, request)
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return { ...issued }
  }

  /** The live challenge record of a value, for a factor's own routes. */
  async find (value: string): Promise<ChallengeRecord | null> {
    return CHALLENGE.test(value) ? await this.#challenges.find(hashOf(value), 'mfa_login', new Date(this.#gk.now())) : null
  }
}
