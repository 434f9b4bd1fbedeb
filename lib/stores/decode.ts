import type { AccountTokenKind, ChallengeKind, MfaFactorKind } from './types.js'

// Decoders shared by the SQL stores' row mappers: each checks one column's
// value and returns it typed, so no row is trusted by assertion.

const ACCOUNT_TOKEN_KINDS: readonly AccountTokenKind[] = ['password_reset', 'email_verification', 'email_change', 'email_revert']
const MFA_FACTOR_KINDS: readonly MfaFactorKind[] = ['totp']
const CHALLENGE_KINDS: readonly ChallengeKind[] = ['mfa_login', 'webauthn_registration', 'webauthn_authentication']

function member<T extends string> (values: readonly T[], v: unknown, what: string): T {
  const found = values.find((x) => x === v)
  // Only a database written by something else holds another value: a bug, not a request error.
  if (found === undefined) throw new Error(`The store holds an unknown ${what}: ${String(v)}`)
  return found
}

/** An account token's `kind` column. */
export const accountTokenKind = (v: unknown): AccountTokenKind => member(ACCOUNT_TOKEN_KINDS, v, 'account token kind')

/** An MFA factor's `kind` column. */
export const mfaFactorKind = (v: unknown): MfaFactorKind => member(MFA_FACTOR_KINDS, v, 'MFA factor kind')

/** A challenge's `kind` column. */
export const challengeKind = (v: unknown): ChallengeKind => member(CHALLENGE_KINDS, v, 'challenge kind')

/** The row a statement just wrote and read back; its absence is a bug. */
export function present<T> (row: T | undefined, what: string): T {
  if (row === undefined) throw new Error(`The store lost the ${what} it just wrote`)
  return row
}
