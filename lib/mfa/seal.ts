import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { configError } from '../core/errors.js'

/** One key of `encryptionKeys`: an id (stored in front of every secret it seals) and 32 bytes. */
export interface EncryptionKey {
  /** A short name, `[A-Za-z0-9_-]{1,32}` (`'2026-01'`). It prefixes every secret the key sealed. */
  id: string
  /** 32 random bytes: a Buffer, or their base64 or base64url text (`openssl rand -base64 32`). */
  key: Buffer | string
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * Seals and opens TOTP secrets with AES-256-GCM. The first key seals; every
 * key opens what it sealed (the id before the `:` says which). The user id
 * is the additional authenticated data: a sealed secret copied to another
 * user's row does not open.
 */
export class Sealer {
  readonly #keys: Map<string, Buffer>
  readonly #current: string
  readonly #currentKey: Buffer

  constructor (keys: readonly EncryptionKey[]) {
    if (!Array.isArray(keys) || keys.length === 0) configError("mfa: encryptionKeys must list at least one key: [{ id: '1', key: process.env.MFA_KEY }] (32 random bytes, base64)")
    this.#keys = new Map()
    let first: { id: string, key: Buffer } | undefined
    for (const k of keys) {
      if (k === null || typeof k !== 'object' || typeof k.id !== 'string' || !KEY_ID.test(k.id)) configError('mfa: each of encryptionKeys needs an id of 1 to 32 letters, digits, - or _')
      if (this.#keys.has(k.id)) configError(`mfa: encryptionKeys lists the id '${k.id}' twice`)
      const bytes = Buffer.isBuffer(k.key) ? k.key : typeof k.key === 'string' ? Buffer.from(k.key, 'base64') : null
      if (bytes === null || bytes.length !== 32) configError(`mfa: the encryption key '${k.id}' must be 32 bytes (a Buffer, or base64 text of 32 bytes such as the output of openssl rand -base64 32)`)
      const key = Buffer.from(bytes)
      this.#keys.set(k.id, key)
      first ??= { id: k.id, key }
    }
    // The checks above leave a first key: `keys` is a non-empty array.
    if (first === undefined) configError('mfa: encryptionKeys must list at least one key')
    this.#current = first.id
    this.#currentKey = first.key
  }

  /** The id of the key that seals. */
  get currentKeyId (): string {
    return this.#current
  }

  /** `<keyId>:<base64url(iv | ciphertext | tag)>`. */
  seal (plaintext: string, userId: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#currentKey, iv)
    cipher.setAAD(Buffer.from(userId, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return `${this.#current}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
  }

  /** The plaintext, or `null` when the key is unknown or the value was altered or belongs to another user. */
  open (sealed: string, userId: string): string | null {
    const at = sealed.indexOf(':')
    const key = at < 1 ? undefined : this.#keys.get(sealed.slice(0, at))
    if (key === undefined) return null
    const raw = Buffer.from(sealed.slice(at + 1), 'base64url')
    if (raw.length < IV_BYTES + TAG_BYTES) return null
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES))
      decipher.setAAD(Buffer.from(userId, 'utf8'))
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES))
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      return null
    }
  }
}
