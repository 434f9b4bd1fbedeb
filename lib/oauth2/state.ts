import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/** What the state cookie carries between the start of a login and its callback. */
export interface LoginState {
  /** The OAuth `state` (RFC 6749 §10.12). */
  state: string
  /** The OpenID Connect `nonce` (OIDC Core §3.1.2.1). */
  nonce: string
  /** The PKCE `code_verifier` (RFC 7636). */
  verifier: string
  /** The local user to link the identity to (a logged-in user started the flow), or `null`. */
  link: string | null
  /** When the state stops being accepted (ms since the epoch). */
  expiresAt: number
}

/** The name of the state cookie (`__Host-`: Secure, Path=/, no Domain — RFC 6265bis §4.1.3.2). */
export const STATE_COOKIE = '__Host-gk_oauth'

const IV = 12
const TAG = 16

/**
 * Seals and opens the state cookie with AES-256-GCM (a key derived from the
 * configured secret with HKDF): authenticated so it cannot be forged or
 * altered, encrypted so the PKCE verifier is not readable, and bound to its
 * provider as additional data so one provider's state never passes for another's.
 */
export class StateSealer {
  readonly #key: Buffer

  constructor (secret: Buffer) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'fastify-gatekeeper oauth2 state', 32))
  }

  /** The cookie value for `state` of `provider`. */
  seal (provider: string, state: LoginState): string {
    const iv = randomBytes(IV)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(provider))
    const body = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
  }

  /** The state of a cookie value, or `null` when it is forged, altered, of another provider, expired or malformed. */
  open (provider: string, value: string | undefined, now: number): LoginState | null {
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null
    const raw = Buffer.from(value, 'base64url')
    if (raw.length <= IV + TAG) return null
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV))
      decipher.setAAD(Buffer.from(provider))
      decipher.setAuthTag(raw.subarray(IV, IV + TAG))
      const text = Buffer.concat([decipher.update(raw.subarray(IV + TAG)), decipher.final()]).toString('utf8')
      const s = JSON.parse(text) as LoginState
      if (typeof s.expiresAt !== 'number' || now >= s.expiresAt) return null
      return s
    } catch {
      return null
    }
  }
}
