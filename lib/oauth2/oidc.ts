import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type * as OpenId from 'openid-client'
import { errors, isGatekeeperError, hasCode } from '../core/errors.js'
import { fieldOf } from '../core/json.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import type { PublicUser } from '../jwt/types.js'
import type { IdentityRepository, UserRecord } from '../stores/types.js'
import { autoLinkRefusal } from './linking.js'
import type { NormalizedOidc, NormalizedProvider } from './oidc-options.js'
import { STATE_COOKIE, StateSealer } from './state.js'

/** openid-client, loaded only when providers are configured (it is an optional peer dependency). */
export type OpenIdClient = typeof OpenId
/** Seconds the provider may take to answer one request. */
const PROVIDER_TIMEOUT = 10

/** A well-formed `sub`: 1-255 printable ASCII characters. */
const SUBJECT = /^[\x20-\x7e]{1,255}$/

/** The claims of a validated ID token this module reads. */
interface IdClaims { iss: string, sub: string, email?: unknown, email_verified?: unknown }

/** The `code` of an error, `null` when it has none. */
function codeOf (err: Error): string | null {
  const code = fieldOf(err, 'code')
  return typeof code === 'string' ? code : null
}

/** Maps an openid-client failure: the provider unreachable or failing is 503, anything about the response is an invalid grant. */
function providerError (client: OpenIdClient, err: unknown): Error {
  if (isGatekeeperError(err)) return err
  if (err instanceof client.ResponseBodyError) return err.status >= 500 ? new errors.GK_PROVIDER_UNAVAILABLE() : new errors.GK_INVALID_GRANT()
  if (err instanceof client.AuthorizationResponseError) return new errors.GK_INVALID_GRANT()
  if (err instanceof client.ClientError) {
    // A 5xx page or a non-JSON answer is the provider failing, not the user.
    const status = fieldOf(err.cause, 'status')
    if (typeof status === 'number' && status >= 500) return new errors.GK_PROVIDER_UNAVAILABLE()
    return new errors.GK_INVALID_GRANT()
  }
  // fetch failures (refused, reset, timed out) are TypeErrors and AbortErrors.
  return new errors.GK_PROVIDER_UNAVAILABLE()
}

/**
 * The OpenID Connect relying party: the authorization-code flow with PKCE
 * (S256), `state` and `nonce` sealed in a short-lived HttpOnly cookie, ID
 * tokens validated by openid-client (signature via the provider's JWKS,
 * `iss`, `aud`, `exp`, `nonce`), external identities linked to local users.
 */
export class OidcLogin {
  readonly #gk: Gatekeeper
  readonly #o: NormalizedOidc
  readonly #sealer: StateSealer
  readonly #configs = new Map<string, Promise<OpenId.Configuration>>()
  readonly #client: OpenIdClient
  readonly #parseCookie: (raw: string) => Record<string, string | undefined>
  readonly #identities: IdentityRepository

  constructor (app: FastifyInstance, o: NormalizedOidc, client: OpenIdClient, identities: IdentityRepository) {
    this.#client = client
    this.#identities = identities
    this.#gk = app.gatekeeper
    this.#o = o
    this.#sealer = new StateSealer(o.stateSecret)
    this.#parseCookie = (raw) => app.parseCookie(raw)
  }

  #provider (name: string): NormalizedProvider {
    const p = this.#o.providers.get(name)
    if (p === undefined) throw new errors.GK_NOT_FOUND('provider')
    return p
  }

  /** The provider's configuration, discovered once; a failed discovery is retried on the next login. */
  async #config (p: NormalizedProvider): Promise<OpenId.Configuration> {
    const client = this.#client
    let pending = this.#configs.get(p.name)
    if (pending === undefined) {
      pending = client.discovery(p.issuer, p.clientId, p.clientSecret ?? undefined,
        p.clientSecret === null ? client.None() : client.ClientSecretBasic(p.clientSecret),
        {
          timeout: PROVIDER_TIMEOUT,
          // openid-client skips the ID token's signature when it comes from the token endpoint over TLS
          // (OIDC Core §3.1.3.7 allows that); we check it against the provider's JWKS anyway.
          execute: [client.enableNonRepudiationChecks, ...(p.insecure ? [client.allowInsecureRequests] : [])]
        })
      this.#configs.set(p.name, pending)
      pending.catch(() => { this.#configs.delete(p.name) })
    }
    try {
      return await pending
    } catch (err) {
      throw providerError(client, err)
    }
  }

  /** `GET /api/oauth/:provider/start`: redirects to the provider with a fresh state, nonce and PKCE challenge (a login). */
  async start (name: string, _request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const url = await this.#begin(name, null, reply)
    await reply.redirect(url, 302)
  }

  /**
   * Starts linking an identity of provider `name` to the signed-in user of
   * `request` (a person): seals the user's id in the state cookie (set on
   * `reply`) and returns the provider URL to send the browser to. The
   * callback then links the identity to that user, and to no other.
   */
  async link (name: string, request: FastifyRequest, reply: FastifyReply): Promise<{ url: string }> {
    const auth = request.auth
    if (auth === null) throw new errors.GK_UNAUTHORIZED()
    // People link identities; an application acting for its owner does not.
    if (auth.kind !== 'user') throw new errors.GK_FORBIDDEN()
    const url = await this.#begin(name, auth.subject, reply)
    this.#gk.record({ type: 'oauth.link_started', outcome: 'info', subject: auth.subject, userId: auth.subject, provider: name }, request)
    return { url }
  }

  async #begin (name: string, link: string | null, reply: FastifyReply): Promise<string> {
    const client = this.#client
    const p = this.#provider(name)
    const config = await this.#config(p)
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const expiresAt = this.#gk.now() + this.#o.stateTtlMs
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: p.redirectUri,
      scope: p.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce
    })
    reply.header('set-cookie', `${STATE_COOKIE}=${this.#sealer.seal(p.name, { state, nonce, verifier, link, expiresAt })}; Path=/; Max-Age=${Math.floor(this.#o.stateTtlMs / 1000)}; HttpOnly; Secure; SameSite=Lax`)
    reply.header('cache-control', 'no-store')
    return url.href
  }

  /** `GET /api/oauth/:provider/callback`: checks the state, redeems the code, validates the ID token, returns the local user. */
  async callback (name: string, request: FastifyRequest, reply: FastifyReply): Promise<{ user: PublicUser, created: boolean }> {
    const p = this.#provider(name)
    // One attempt per state: the cookie is cleared whatever happens next.
    reply.header('set-cookie', `${STATE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`)
    reply.header('cache-control', 'no-store')
    const raw = request.headers.cookie
    const saved = this.#sealer.open(p.name, raw === undefined ? undefined : this.#parseCookie(raw)[STATE_COOKIE], this.#gk.now())
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''
    const params = new URLSearchParams(query)
    // RFC 6749 §10.12: a callback without the state this browser started is a forged (CSRF) or stale one.
    if (saved === null || params.get('state') !== saved.state) throw new errors.GK_INVALID_REQUEST('login state missing, expired or not matching')
    const config = await this.#config(p)
    const client = this.#client
    let claims: IdClaims
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(p.redirectUri + query), {
        pkceCodeVerifier: saved.verifier,
        expectedState: saved.state,
        expectedNonce: saved.nonce,
        idTokenExpected: true
      })
      const idToken = tokens.claims()
      // OIDC Core §2: `sub` is at most 255 ASCII characters. Anything else is not stored or looked up.
      if (idToken === undefined || typeof idToken.sub !== 'string' || !SUBJECT.test(idToken.sub)) throw new errors.GK_INVALID_GRANT()
      claims = { ...idToken }
      // Providers may keep email out of the ID token (OIDC Core §5.4); ask UserInfo, bound to the same sub (§5.3.2).
      if (claims.email === undefined && config.serverMetadata().userinfo_endpoint !== undefined) {
        const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
        claims.email = info.email
        claims.email_verified = info.email_verified
      }
    } catch (err) {
      const mapped = providerError(client, err)
      this.#gk.record({ type: 'oauth.login_failed', outcome: 'failure', reason: codeOf(mapped), provider: p.name }, request)
      throw mapped
    }
    return await this.#resolveUser(p, claims, saved.link, request)
  }

  async #resolveUser (p: NormalizedProvider, claims: IdClaims, link: string | null, request: FastifyRequest): Promise<{ user: PublicUser, created: boolean }> {
    const { allowSignup, linkVerifiedEmail, signupRoles } = this.#o
    const identities = this.#identities
    const users = this.#gk.store.users
    const linked = await identities.find(claims.iss, claims.sub)
    if (linked !== null) {
      const owner = await users.findById(linked.userId)
      if (owner !== null) {
        if (link !== null && owner.id !== link) throw new errors.GK_CONFLICT('this identity is linked to another account')
        return { user: usable(owner), created: false }
      }
      // The user was deleted: the link is stale and goes, and the identity is treated as new.
      await identities.delete(claims.iss, claims.sub)
      this.#gk.record({ type: 'oauth.identity_unlinked', outcome: 'success', userId: linked.userId, provider: p.name, reason: 'user_deleted' }, request)
    }
    let user: UserRecord | null = null
    if (link !== null) {
      // Explicit linking: the signed-in user who started it (sealed in the state); gone meanwhile, nobody.
      user = await users.findById(link)
      if (user === null) throw new errors.GK_INVALID_CREDENTIALS()
    } else if (linkVerifiedEmail && claims.email_verified === true && typeof claims.email === 'string') {
      // Opt-in, and only to an account the identity holder alone can have made (pre-account takeover guard).
      // The address a user record keeps (the accounts plugin verifies it); else a username that is the address.
      const candidate = (await users.findByEmail?.(claims.email)) ?? await users.findByLogin(claims.email)
      const refusal = candidate === null ? null : autoLinkRefusal(candidate, claims.email)
      if (refusal === null) user = candidate
      else this.#gk.record({ type: 'oauth.link_refused', outcome: 'failure', userId: candidate?.id ?? null, provider: p.name, reason: refusal }, request)
    }
    if (user !== null) {
      const found = usable(user)
      await this.#link(p, claims, found.id, request)
      return { user: found, created: false }
    }
    if (!allowSignup) throw new errors.GK_FORBIDDEN()
    const email = claims.email_verified === true && typeof claims.email === 'string' ? claims.email : null
    let created: PublicUser
    try {
      created = await this.#gk.users.create({ username: email ?? `${p.name}:${claims.sub}`, password: null, roles: [...signupRoles] }, request)
    } catch (err) {
      if (!hasCode(err, 'GK_CONFLICT') || email === null) throw err
      created = await this.#gk.users.create({ username: `${p.name}:${claims.sub}`, password: null, roles: [...signupRoles] }, request)
    }
    try {
      await this.#link(p, claims, created.id, request)
    } catch (err) {
      // Never leave a user without the identity that made it (a concurrent first login won the link).
      await users.delete(created.id)
      throw err
    }
    return { user: created, created: true }
  }

  async #link (p: NormalizedProvider, claims: IdClaims, userId: string, request: FastifyRequest): Promise<void> {
    await this.#identities.create({ issuer: claims.iss, subject: claims.sub, userId, provider: p.name, createdAt: new Date(this.#gk.now()) })
    this.#gk.record({ type: 'oauth.identity_linked', outcome: 'success', userId, provider: p.name }, request)
  }
}

/** A user who may log in: a missing or disabled one fails like a wrong password. */
function usable (user: UserRecord | null): PublicUser {
  if (user === null || user.disabled) throw new errors.GK_INVALID_CREDENTIALS()
  const { passwordHash: _h, ...rest } = user
  return rest
}
