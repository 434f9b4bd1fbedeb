import { timingSafeEqual } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'

/** RFC 6238 parameters every authenticator app understands: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_S = 30
export const TOTP_DIGITS = 6

/** A fresh 160-bit secret (RFC 4226 §4 recommends 160 bits), base32. */
export function newTotpSecret (): string {
  return new Secret({ size: 20 }).base32
}

/** The `otpauth://` URI an authenticator app reads (from a QR code). */
export function totpUri (secret: string, issuer: string, label: string): string {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S }).toString()
}

/** The time step of a moment (milliseconds since the epoch). */
export function stepAt (ms: number): number {
  return Math.floor(ms / 1000 / TOTP_PERIOD_S)
}

/**
 * The time step whose code `code` is, searched from `window` steps before
 * the current one to `window` after (clock drift), or `null`. Every
 * candidate is compared in constant time.
 */
export function matchingStep (secret: string, code: string, nowMs: number, window: number): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const key = Secret.fromBase32(secret)
  const current = stepAt(nowMs)
  const given = Buffer.from(code)
  let found: number | null = null
  for (let delta = -window; delta <= window; delta++) {
    const step = current + delta
    const expected = TOTP.generate({ secret: key, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, timestamp: step * TOTP_PERIOD_S * 1000 })
    // The latest matching step wins, so a code cannot be accepted again for a later step of the window.
    if (timingSafeEqual(Buffer.from(expected), given)) found = step
  }
  return found
}
