import { createRemoteJWKSet, customFetch, errors as jose, type FlattenedJWSInput, type JWSHeaderParameters, type CryptoKey } from 'jose'
import { boundedFetch, maxAgeOf } from './fetch.js'
import type { FetchLike, JwksSettings } from './options.js'

/** A provider could not be reached (or answered garbage) and nothing usable is held: refuse with 503, never let in. */
export class ProviderUnavailable extends Error {
  constructor (readonly endpoint: 'discovery' | 'jwks' | 'introspection', options?: { cause?: unknown }) {
    super(`identity provider unavailable (${endpoint})`, options)
    this.name = 'ProviderUnavailable'
  }
}

/** What a key set tells its owner. */
export interface KeySetEvents {
  /** A fetch brought a different key set: these `kid`s are now known (`null` for a key without one). */
  changed: (kids: ReadonlySet<string | null>, before: ReadonlySet<string | null>) => void
  /** A fetch failed. */
  failed: (err: unknown) => void
}

/** What a key set is built from. */
export interface KeySetOptions {
  jwksUri: URL
  fetch: FetchLike
  settings: JwksSettings
  /** Our clock (injectable in tests); jose's own clock is not consulted for freshness. */
  now: () => number
  events: KeySetEvents
}

/**
 * One issuer's JSON Web Key Set. jose's `createRemoteJWKSet` fetches it
 * (timeout, no redirects, status and shape checks, concurrent reloads
 * merged) and picks the key for a token (by `kid`, and by key type and
 * `alg` for the token's algorithm). Around it, the policy jose leaves to
 * us: a `Cache-Control: max-age` within bounds decides when the set is
 * refreshed; one fetch at most per cooldown, whatever tokens arrive (a
 * flood of unknown `kid`s, a provider that is down); a body size bound;
 * and keys kept for a bounded time past their freshness while the provider
 * cannot be reached, after which nothing verifies until it answers.
 */
export class RemoteKeys {
  readonly #o: KeySetOptions
  readonly #remote: ReturnType<typeof createRemoteJWKSet>
  /** When the set in use was fetched (our clock); `null` until the first success. */
  #fetchedAt: number | null = null
  #freshForMs: number
  #lastAttempt = Number.NEGATIVE_INFINITY
  #maxAgeOfLastResponse: number | null = null
  #inflight: Promise<void> | null = null
  #kids: ReadonlySet<string | null> = new Set()
  #fetches = 0

  constructor (o: KeySetOptions) {
    this.#o = o
    this.#freshForMs = o.settings.defaultAgeMs
    const bounded = boundedFetch(o.fetch, o.settings.maxBytes, o.settings.timeoutMs)
    const recording: FetchLike = async (url, init) => {
      this.#fetches++
      const res = await bounded(url, init)
      this.#maxAgeOfLastResponse = maxAgeOf(res.headers.get('cache-control'))
      return res
    }
    this.#remote = createRemoteJWKSet(o.jwksUri, {
      timeoutDuration: o.settings.timeoutMs,
      // Freshness and cooldown are decided below, on our clock; jose never reloads on its own.
      cacheMaxAge: Number.POSITIVE_INFINITY,
      cooldownDuration: Number.POSITIVE_INFINITY,
      [customFetch]: recording
    })
  }

  /** Requests made to the key URL so far (successful or not). */
  get fetches (): number {
    return this.#fetches
  }

  /** The `kid`s of the set in use. */
  get kids (): ReadonlySet<string | null> {
    return this.#kids
  }

  /** Whether a set was ever fetched. */
  get loaded (): boolean {
    return this.#fetchedAt !== null
  }

  /** When the set in use was fetched, or `null`. */
  get fetchedAt (): number | null {
    return this.#fetchedAt
  }

  /** The key for a token, as jose's `jwtVerify` asks for it. Throws {@link ProviderUnavailable} when no usable set can be had. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    await this.#usable()
    try {
      return await this.#remote(header, token)
    } catch (err) {
      // A kid we do not know: the provider may have rotated. One fetch per cooldown, whatever tokens say.
      if (!(err instanceof jose.JWKSNoMatchingKey) || (this.#inflight === null && !this.#mayFetch())) throw err
      await this.reload()
      return await this.#remote(header, token)
    }
  }

  async #usable (): Promise<void> {
    if (this.#fetchedAt === null) {
      // Never fetched: fetch now (or wait for the fetch in flight), unless a fetch failed within the cooldown.
      if (this.#inflight === null && !this.#mayFetch()) throw new ProviderUnavailable('jwks')
      await this.reload()
      return
    }
    const age = this.#o.now() - this.#fetchedAt
    if (age < this.#freshForMs) return
    if (age < this.#freshForMs + this.#o.settings.maxStaleMs) {
      // Stale but within bounds: serve what we have and refresh behind the request.
      if (this.#mayFetch()) this.reload().catch(() => {})
      return
    }
    // Too old to trust while the provider is away: a fresh set, or no verification at all.
    if (this.#inflight === null && !this.#mayFetch()) throw new ProviderUnavailable('jwks')
    await this.reload()
  }

  /** When the set in use stops being fresh (our clock); `-Infinity` before the first fetch. */
  get staleAt (): number {
    return this.#fetchedAt === null ? Number.NEGATIVE_INFINITY : this.#fetchedAt + this.#freshForMs
  }

  /**
   * Starts a refresh behind the caller when the set is stale and the
   * cooldown allows (a cached token's use calls it, so a withdrawn key is
   * noticed even while no new token arrives).
   */
  refreshIfStale (): void {
    if (this.#fetchedAt !== null && this.#o.now() >= this.staleAt && this.#mayFetch()) this.reload().catch(() => {})
  }

  #mayFetch (): boolean {
    return this.#o.now() - this.#lastAttempt >= this.#o.settings.cooldownMs
  }

  /** Fetches the set now (merged with a fetch in flight). Throws {@link ProviderUnavailable} when it fails. */
  async reload (): Promise<void> {
    if (this.#inflight !== null) return await this.#inflight
    this.#lastAttempt = this.#o.now()
    const attempt = this.#remote.reload().then(() => { this.#applied() }, (err: unknown) => {
      this.#o.events.failed(err)
      throw new ProviderUnavailable('jwks', { cause: err })
    })
    this.#inflight = attempt.finally(() => { this.#inflight = null })
    return await this.#inflight
  }

  #applied (): void {
    const s = this.#o.settings
    this.#fetchedAt = this.#o.now()
    const declared = this.#maxAgeOfLastResponse
    this.#freshForMs = declared === null ? s.defaultAgeMs : Math.min(Math.max(declared, s.minAgeMs), s.maxAgeMs)
    const set = this.#remote.jwks()
    const kids = new Set<string | null>((set?.keys ?? []).map((k) => typeof k.kid === 'string' ? k.kid : null))
    const before = this.#kids
    this.#kids = kids
    if (kids.size !== before.size || [...kids].some((k) => !before.has(k))) this.#o.events.changed(kids, before)
  }
}
