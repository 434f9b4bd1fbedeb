import * as oauth from 'oauth4webapi'
import { ProviderUnavailable } from './keys.js'
import type { FetchLike, NormalizedIntrospection } from './options.js'
import type { Claims } from './presets.js'

/** What an introspector needs besides its settings. */
export interface IntrospectorOptions {
  issuer: string
  settings: NormalizedIntrospection
  /** The endpoint (from the options or the issuer's metadata), resolved when first needed. */
  endpoint: () => Promise<URL>
  fetch: FetchLike
  insecure: boolean
  failed: (err: unknown) => void
}

/**
 * RFC 7662 token introspection with oauth4webapi: the request with client
 * authentication (`client_secret_basic` or `_post`), `token_type_hint:
 * access_token`, and the answer's checks (status, content type, `active`
 * a boolean). At most `maxConcurrent` requests are in flight: past that a
 * caller is refused with 503 at once, so a flood of made-up tokens cannot
 * queue without bound or hammer the provider.
 */
export class Introspector {
  readonly #o: IntrospectorOptions
  readonly #client: oauth.Client
  readonly #auth: oauth.ClientAuth
  #inFlight = 0
  #requests = 0

  constructor (o: IntrospectorOptions) {
    this.#o = o
    this.#client = { client_id: o.settings.clientId }
    this.#auth = o.settings.auth === 'client_secret_post' ? oauth.ClientSecretPost(o.settings.clientSecret) : oauth.ClientSecretBasic(o.settings.clientSecret)
  }

  /** Requests made to the endpoint so far. */
  get requests (): number {
    return this.#requests
  }

  /** The answer's claims when the token is active, `null` when it is not. Throws {@link ProviderUnavailable}. */
  async introspect (token: string): Promise<Claims | null> {
    if (this.#inFlight >= this.#o.settings.maxConcurrent) throw new ProviderUnavailable('introspection')
    this.#inFlight++
    try {
      return await this.#call(token)
    } finally {
      this.#inFlight--
    }
  }

  async #call (token: string): Promise<Claims | null> {
    const url = await this.#o.endpoint()
    const as: oauth.AuthorizationServer = { issuer: this.#o.issuer, introspection_endpoint: url.href }
    let answer: oauth.IntrospectionResponse
    try {
      this.#requests++
      const response = await oauth.introspectionRequest(as, this.#client, this.#auth, token, {
        additionalParameters: { token_type_hint: 'access_token' },
        [oauth.customFetch]: this.#o.fetch,
        ...(this.#o.insecure ? { [oauth.allowInsecureRequests]: true } : {})
      })
      answer = await oauth.processIntrospectionResponse(as, this.#client, response)
    } catch (err) {
      // A refused client, a server error, a timeout or garbage: the token cannot be judged now.
      this.#o.failed(err)
      throw new ProviderUnavailable('introspection', { cause: err })
    }
    return answer.active ? answer : null
  }
}
