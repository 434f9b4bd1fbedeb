import { normalizeLogin, type UserRecord } from '../stores/types.js'

/** Why an identity was not linked automatically to the local user bearing its email. */
export type AutoLinkRefusal = 'password' | 'email_unverified' | 'email_differs'

/**
 * Whether an external identity whose provider verified `email` may be linked
 * automatically (`linkVerifiedEmail`) to `user`, the local account of that
 * name; `null` when it may, else why not. The provider's word proves who
 * holds the identity, never who made the local account (pre-account
 * takeover: anybody may register someone else's address and set a password).
 * So the account must:
 *
 * - have no password: nothing proves the identity holder set one, and
 *   whoever did would keep a way in;
 * - have its address verified by the library itself (`emailVerifiedAt`),
 *   the same address the provider vouches for.
 *
 * Everybody else links explicitly, signed in (`POST /api/oauth/:provider/link`).
 */
export function autoLinkRefusal (user: UserRecord, email: string): AutoLinkRefusal | null {
  if (user.passwordHash !== null) return 'password'
  if (!(user.emailVerifiedAt instanceof Date)) return 'email_unverified'
  // A store that keeps an email beside the username: the verified address is that one.
  const own = user.email
  const address = typeof own === 'string' ? own : user.username
  if (normalizeLogin(address) !== normalizeLogin(email)) return 'email_differs'
  return null
}
