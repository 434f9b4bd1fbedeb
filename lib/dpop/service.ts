import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { AuthContext } from '../core/types.js'
import { boundKeyOf } from './bound.js'
import { requestHtu } from './htu.js'
import type { Nonces } from './nonce.js'
import type { NormalizedDpopOptions } from './options.js'
import { checkProof, ProofError, type CheckedProof, type ProofFailure } from './proof.js'
import { replayKey, type ReplayGuard } from './replay.js'

/** The `DPoP-Nonce` response header (RFC 9449 §8.1). */
export const NONCE_HEADER = 'dpop-nonce'

/** A proof that passed every check of RFC 9449 §4.3. */
export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the client's key: what a bound token's `cnf.jkt` holds. */
  readonly jkt: string
}

/** What the service is built from. */
export interface DpopServiceDeps {
  gk: Gatekeeper
  options: NormalizedDpopOptions
  replay: ReplayGuard
  nonces: Nonces | null
}

/**
 * `app.gatekeeper.dpop`: checks the `DPoP` header of a request (RFC 9449
 * §4.3), binds tokens at issuance and proves possession at resource
 * requests. Every refusal is `GK_DPOP_PROOF_INVALID` (or
 * `GK_DPOP_NONCE_REQUIRED`), recorded as `dpop.proof_refused` with the
 * failed check as `cause`; the proof itself is never logged.
 */
export class DpopService {
  readonly #d: DpopServiceDeps
  readonly #bound = new WeakMap<FastifyRequest, string | null>()

  constructor (deps: DpopServiceDeps) {
    this.#d = deps
  }

  /** The global policy: `'required'` or `'allowed'`. */
  get policy (): 'required' | 'allowed' {
    return this.#d.options.policy
  }

  /** The proof algorithms accepted (the `algs` of challenges, `dpop_signing_alg_values_supported` of metadata). */
  get algorithms (): readonly string[] {
    return this.#d.options.algorithms
  }

  /** Entries in this instance's replay cache. */
  get replayCacheSize (): number {
    return this.#d.replay.localSize
  }

  /** The one `DPoP` header of a request, `null` without; throws on several. */
  #header (request: FastifyRequest): string | null {
    const h = request.headers.dpop
    if (h === undefined) return null
    // §4.3 item 1: exactly one DPoP header.
    if (typeof h !== 'string') this.#refuse(request, 'multiple')
    return h
  }

  /**
   * Verifies the request's proof. `accessToken`: a resource request, whose
   * proof must carry its hash (`ath`); `jkt`: the key the token is bound to.
   */
  async verify (request: FastifyRequest, reply: FastifyReply, expect: { accessToken?: string, jkt?: string } = {}): Promise<VerifiedProof> {
    const proof = this.#header(request)
    if (proof === null) this.#refuse(request, 'missing')
    const o = this.#d.options
    const now = this.#d.gk.now()
    const htu = requestHtu(request, o.publicOrigin)
    if (htu === null) this.#refuse(request, 'htu')
    let checked: CheckedProof
    try {
      checked = await checkProof(proof, {
        method: request.method,
        htu,
        ...(expect.accessToken === undefined ? {} : { accessToken: expect.accessToken }),
        ...(expect.jkt === undefined ? {} : { jkt: expect.jkt }),
        algorithms: o.algorithms,
        maxAgeMs: o.maxAgeMs,
        toleranceMs: o.toleranceMs,
        now
      })
    } catch (err) {
      if (err instanceof ProofError) this.#refuse(request, err.reason)
      throw err
    }
    const nonces = this.#d.nonces
    if (nonces !== null) {
      const state = nonces.check(checked.nonce, now)
      // §8: a proof without the current nonce is answered with one to use.
      if (state === 'bad') {
        reply.header(NONCE_HEADER, nonces.current(now))
        this.#record(request, 'nonce')
        throw new errors.GK_DPOP_NONCE_REQUIRED()
      }
      if (state === 'previous') reply.header(NONCE_HEADER, nonces.current(now))
    }
    // §11.1: a proof is accepted once. Checked last, so a proof refused for another reason is not remembered.
    const verdict = await this.#d.replay.record(replayKey(checked.jkt, checked.jti), checked.iat * 1000 + o.maxAgeMs + o.toleranceMs, now)
    if (verdict === 'replay') this.#refuse(request, 'replay')
    if (verdict === 'stale') this.#refuse(request, 'iat_stale')
    return { jkt: checked.jkt }
  }

  /**
   * At a token-issuing route (login, refresh, the token endpoint): the
   * thumbprint of the key the new tokens are bound to, or `null` when the
   * request carries no proof and the policy lets it go without. Checked
   * once per request (a second call answers the first result).
   */
  async bind (request: FastifyRequest, reply: FastifyReply): Promise<string | null> {
    const known = this.#bound.get(request)
    if (known !== undefined) return known
    let jkt: string | null = null
    if (this.#header(request) !== null || this.policy === 'required') jkt = (await this.verify(request, reply)).jkt
    this.#bound.set(request, jkt)
    return jkt
  }

  /** The key bound by {@link bind} for this request (`null`: none; `undefined`: not asked). */
  boundKey (request: FastifyRequest): string | null | undefined {
    return this.#bound.get(request)
  }

  /**
   * A resource request with `Authorization: DPoP <token>`: `ctx` is what a
   * strategy made of the token. The token must be bound (`cnf.jkt`) and the
   * proof made with that key for this request and token; the caller comes
   * back with `scheme: 'DPoP'` and its `confirmation`.
   */
  async authenticate (request: FastifyRequest, reply: FastifyReply, token: string, ctx: AuthContext): Promise<AuthContext> {
    const jkt = boundKeyOf(ctx.claims)
    // §7.1: the DPoP scheme goes with a DPoP-bound token.
    if (jkt === undefined) {
      this.#d.gk.record({ type: 'dpop.proof_refused', outcome: 'failure', reason: 'GK_TOKEN_INVALID', cause: 'unbound_token', subject: ctx.subject }, request)
      throw new errors.GK_TOKEN_INVALID()
    }
    await this.verify(request, reply, { accessToken: token, jkt })
    return Object.freeze({ ...ctx, scheme: 'DPoP', confirmation: Object.freeze({ jkt }) })
  }

  #record (request: FastifyRequest, cause: ProofFailure): void {
    this.#d.gk.record({ type: 'dpop.proof_refused', outcome: 'failure', reason: cause === 'nonce' ? 'GK_DPOP_NONCE_REQUIRED' : 'GK_DPOP_PROOF_INVALID', cause }, request)
  }

  #refuse (request: FastifyRequest, cause: ProofFailure): never {
    this.#record(request, cause)
    throw new errors.GK_DPOP_PROOF_INVALID()
  }
}
