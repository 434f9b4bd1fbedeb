import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import { isValidEmail } from '../jwt/email.js'
import { requestEmailChange, revertEmail } from './change.js'
import { deliver, type AccountsContext } from './context.js'
import { requestPasswordReset, resetPassword, type AccountIdentifier } from './reset.js'
import { requestVerification, verifyEmail } from './verification.js'

/**
 * `app.gatekeeper.accounts`: the account flows, for routes of your own (with
 * `routes: false`) and for tests. The `request…` methods resolve whether a
 * mail went out: never tell a client, or it learns which accounts exist.
 */
export interface AccountsApi {
  /** Mails a reset link to the account an email or username names (when there is one, enabled, with an address, within the limits). */
  requestPasswordReset (id: AccountIdentifier, request?: FastifyRequest): Promise<boolean>
  /** Sets a new password with a reset token; `401 GK_INVALID_GRANT` for any bad token, `400 GK_INVALID_REQUEST` for a password the policy refuses (the token stays usable). */
  resetPassword (token: string, newPassword: string, request?: FastifyRequest): Promise<{ userId: string }>
  /** Mails a verification link to the user's current, unverified address (within the limits). */
  requestVerification (userId: string, request?: FastifyRequest): Promise<boolean>
  /** Uses a verification or email-change token; `changed` tells which it was. */
  verifyEmail (token: string, request?: FastifyRequest): Promise<{ userId: string, changed: boolean }>
  /** Mails a confirmation link to `newEmail` for the user (check their password first); `GK_INVALID_REQUEST` for a malformed address. */
  requestEmailChange (userId: string, newEmail: string, request?: FastifyRequest): Promise<boolean>
  /** Uses a revert link: the previous address comes back and every session ends. */
  revertEmail (token: string, request?: FastifyRequest): Promise<{ userId: string }>
  /** Deletes expired tokens now; resolves to how many. */
  purge (): Promise<number>
  /** Resolves once every mail the routes scheduled so far has been handed to `send` (or failed). */
  idle (): Promise<void>
}

/** The flows over one context. */
export function accountsApi (ctx: AccountsContext): AccountsApi {
  return {
    requestPasswordReset: (id, request) => requestPasswordReset(ctx, id, request),
    resetPassword: (token, newPassword, request) => resetPassword(ctx, token, newPassword, request),
    requestVerification: (userId, request) => requestVerification(ctx, userId, request),
    verifyEmail: (token, request) => verifyEmail(ctx, token, request),
    async requestEmailChange (userId, newEmail, request) {
      if (!isValidEmail(newEmail)) throw new errors.GK_INVALID_REQUEST('newEmail must be an address such as ada@example.org')
      return await requestEmailChange(ctx, userId, newEmail, request)
    },
    revertEmail: (token, request) => revertEmail(ctx, token, request),
    purge: () => ctx.tokens.deleteExpired(new Date(ctx.gk.now())),
    idle: () => ctx.jobs.idle()
  }
}

/**
 * After any password change (a reset, the jwt plugin's change route,
 * `users.setPassword`): pending reset links die, and the account's address
 * gets a notice with a link to reset the password should it not have been
 * the owner.
 */
export async function passwordChanged (ctx: AccountsContext, userId: string): Promise<void> {
  await ctx.tokens.revokeForUser(userId, ['password_reset'])
  const user = await ctx.users.findById(userId)
  if (user === null || user.email == null) return
  await deliver(ctx, 'password_changed', user.email, user.id, null, null)
}
