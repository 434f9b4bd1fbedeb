import type { JWTVerifyGetKey } from 'jose'
import { discover, type IssuerMetadata } from './discovery.js'
import { boundedFetch } from './fetch.js'
import { Introspector } from './introspection.js'
import { ProviderUnavailable, RemoteKeys, type KeySetEvents } from './keys.js'
import type { FetchLike, JwksSettings, NormalizedIssuer } from './options.js'

/** How an issuer tells the plugin what happened. */
export interface IssuerEvents {
  keysChanged: (issuer: string, kids: ReadonlySet<string | null>, before: ReadonlySet<string | null>) => void
  failed: (issuer: string, endpoint: 'discovery' | 'jwks' | 'introspection', err: unknown) => void
}

/** What `app.gatekeeper.resourceServer.issuers()` says of one issuer. */
export interface IssuerStatus {
  readonly issuer: string
  readonly name: string
  /** Whether its metadata was read (always true for an issuer that needs none). */
  readonly discovered: boolean
  /** The key set's `kid`s in use (empty for a shared secret or before the first fetch). */
  readonly kids: readonly string[]
  /** When the keys in use were fetched (ms since the epoch), or `null`. */
  readonly keysFetchedAt: number | null
  /** Requests made for its keys so far. */
  readonly keyFetches: number
  /** Introspection requests made so far (0 without introspection). */
  readonly introspections: number
}

/**
 * One trusted issuer at run time: its metadata (discovered once, retried at
 * most once per cooldown while it fails), its key set or shared secret, and
 * its introspection client.
 */
export class IssuerRuntime {
  readonly config: NormalizedIssuer
  /** The raw fetch (the key set bounds its own requests). */
  readonly #fetch: FetchLike
  /** The fetch for metadata and introspection: bounded in size and time, no redirects. */
  readonly #bounded: FetchLike
  readonly #jwks: JwksSettings
  readonly #now: () => number
  readonly #events: IssuerEvents
  #metadata: IssuerMetadata | null = null
  #discovering: Promise<IssuerMetadata> | null = null
  #lastDiscovery = Number.NEGATIVE_INFINITY
  #keys: RemoteKeys | null = null
  readonly introspector: Introspector | null
  /** The key function handed to jose: the shared secret, or a lookup in the key set. */
  readonly key: JWTVerifyGetKey | Uint8Array

  constructor (config: NormalizedIssuer, deps: { fetch: FetchLike, jwks: JwksSettings, now: () => number, events: IssuerEvents }) {
    this.config = config
    this.#fetch = deps.fetch
    this.#bounded = boundedFetch(deps.fetch, deps.jwks.maxBytes, deps.jwks.timeoutMs)
    this.#jwks = deps.jwks
    this.#now = deps.now
    this.#events = deps.events
    this.key = config.secret ?? (async (header, token) => await (await this.keys()).getKey(header, token))
    const settings = config.introspection
    this.introspector = settings === null
      ? null
      : new Introspector({
        issuer: config.issuer,
        settings,
        endpoint: async () => settings.endpoint ?? await this.#introspectionEndpoint(),
        fetch: this.#bounded,
        insecure: config.insecure,
        failed: (err) => { deps.events.failed(config.issuer, 'introspection', err) }
      })
  }

  /** The metadata, discovered when first needed. Throws {@link ProviderUnavailable} (or `IssuerMismatch`). */
  async metadata (): Promise<IssuerMetadata> {
    if (this.#metadata !== null) return this.#metadata
    if (this.#discovering !== null) return await this.#discovering
    if (this.#now() - this.#lastDiscovery < this.#jwks.cooldownMs) throw new ProviderUnavailable('discovery')
    this.#lastDiscovery = this.#now()
    this.#discovering = discover(this.config, this.#bounded).then((m) => {
      this.#metadata = m
      return m
    }, (err: unknown) => {
      this.#events.failed(this.config.issuer, 'discovery', err)
      throw err
    }).finally(() => { this.#discovering = null })
    return await this.#discovering
  }

  /** The key set if it was made, else `null` (never fetches). */
  get knownKeys (): RemoteKeys | null {
    return this.#keys
  }

  /** The metadata if it was read, else `null` (never fetches). */
  get knownMetadata (): IssuerMetadata | null {
    return this.#metadata
  }

  async #introspectionEndpoint (): Promise<URL> {
    const url = (await this.metadata()).introspectionEndpoint
    if (url === null) throw new ProviderUnavailable('introspection', { cause: new Error('the metadata names no introspection_endpoint') })
    return url
  }

  /** The key set, made once its URL is known. */
  async keys (): Promise<RemoteKeys> {
    if (this.#keys !== null) return this.#keys
    const jwksUri = this.config.jwksUri ?? (await this.metadata()).jwksUri
    if (jwksUri === null) throw new ProviderUnavailable('jwks', { cause: new Error('the metadata names no jwks_uri') })
    const issuer = this.config.issuer
    const events: KeySetEvents = {
      changed: (kids, before) => { this.#events.keysChanged(issuer, kids, before) },
      failed: (err) => { this.#events.failed(issuer, 'jwks', err) }
    }
    this.#keys ??= new RemoteKeys({ jwksUri, fetch: this.#fetch, settings: this.#jwks, now: this.#now, events })
    return this.#keys
  }

  /**
   * Reads the metadata (when needed) and the keys, so the first request
   * does not wait for them. A provider that is down is not fatal here:
   * requests are then answered 503 until it is back.
   */
  async warm (): Promise<void> {
    if (this.config.discover) await this.metadata()
    if (this.config.secret === null && (this.config.jwksUri ?? this.#metadata?.jwksUri ?? null) !== null) await (await this.keys()).reload()
  }

  /** What the service reports. */
  status (): IssuerStatus {
    const keys = this.#keys
    return Object.freeze({
      issuer: this.config.issuer,
      name: this.config.name,
      discovered: !this.config.discover || this.#metadata !== null,
      kids: keys === null ? [] : [...keys.kids].filter((k): k is string => k !== null),
      keysFetchedAt: keys?.fetchedAt ?? null,
      keyFetches: keys?.fetches ?? 0,
      introspections: this.introspector?.requests ?? 0
    })
  }

  /** Its OpenAPI security scheme: `oauth2` with the flows its metadata names, or `openIdConnect` pointing at its discovery document. */
  securityScheme (scopes: readonly string[]): Record<string, unknown> {
    const m = this.#metadata
    const scopeMap = Object.fromEntries(scopes.map((s) => [s, s]))
    if (m !== null && m.tokenEndpoint !== null) {
      const flows: Record<string, unknown> = {}
      if (m.authorizationEndpoint !== null && m.grantTypes.includes('authorization_code')) {
        flows.authorizationCode = { authorizationUrl: m.authorizationEndpoint, tokenUrl: m.tokenEndpoint, scopes: scopeMap }
      }
      if (m.grantTypes.includes('client_credentials')) flows.clientCredentials = { tokenUrl: m.tokenEndpoint, scopes: scopeMap }
      if (Object.keys(flows).length > 0) return { type: 'oauth2', description: `Access tokens of ${this.config.issuer}`, flows }
    }
    const base = this.config.issuer.endsWith('/') ? this.config.issuer : `${this.config.issuer}/`
    return { type: 'openIdConnect', description: `Access tokens of ${this.config.issuer}`, openIdConnectUrl: `${base}.well-known/openid-configuration` }
  }
}
