import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Server nonces (RFC 9449 §8, §9) without server state: a nonce names its
 * time slot and carries an HMAC of it, so any instance holding the same
 * secret checks it. A nonce is good in its slot and the next (one to two
 * `ttl`s); a client told a new one in `DPoP-Nonce` uses that from then on.
 */
export class Nonces {
  readonly #secret: Buffer
  readonly #ttlMs: number
  #slot = -1
  #current = ''

  constructor (secret: Buffer | null, ttlMs: number) {
    this.#secret = secret ?? randomBytes(32)
    this.#ttlMs = ttlMs
  }

  #mac (slot: number): Buffer {
    return createHmac('sha256', this.#secret).update(`dpop-nonce:${slot}`).digest().subarray(0, 16)
  }

  /** The nonce to hand out now. */
  current (now: number): string {
    const slot = Math.floor(now / this.#ttlMs)
    if (slot !== this.#slot) {
      this.#slot = slot
      this.#current = `${slot.toString(36)}.${this.#mac(slot).toString('base64url')}`
    }
    return this.#current
  }

  /** `'current'`, `'previous'` (good, but a new one should be sent) or `'bad'`. */
  check (nonce: unknown, now: number): 'current' | 'previous' | 'bad' {
    if (typeof nonce !== 'string' || nonce.length > 64) return 'bad'
    const dot = nonce.indexOf('.')
    if (dot <= 0) return 'bad'
    const slot = parseInt(nonce.slice(0, dot), 36)
    const mac = Buffer.from(nonce.slice(dot + 1), 'base64url')
    const at = Math.floor(now / this.#ttlMs)
    if (!Number.isSafeInteger(slot) || slot.toString(36) !== nonce.slice(0, dot) || (slot !== at && slot !== at - 1)) return 'bad'
    if (mac.length !== 16 || mac.toString('base64url') !== nonce.slice(dot + 1) || !timingSafeEqual(mac, this.#mac(slot))) return 'bad'
    return slot === at ? 'current' : 'previous'
  }
}
