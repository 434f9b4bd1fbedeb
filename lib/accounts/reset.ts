import type { FastifyRequest } from 'fastify'
import { fieldOf } from '../core/json.js'
import type { UserRecord } from '../stores/types.js'
import '../protection/setup.js'
import { checkToken, consumeToken, deliver, issueToken, refuseToken, sameEmail, type AccountsContext } from './context.js'

/** How a person names their account in a forgotten-password or resend request. */
export type AccountIdentifier = { email: string } | { username: string }

/** The account an identifier names, or `null`. */
export async function findAccount (ctx: AccountsContext, id: AccountIdentifier): Promise<UserRecord | null> {
  return 'email' in id ? await ctx.users.findByEmail(id.email) : await ctx.users.findByLogin(id.username)
}

/**
 * Mails a reset link to the account's address, when there is such an
 * account, enabled, with an address, within the mail limits. Resolves
 * whether a mail went out; the reason it did not is only in the audit trail
 * (`password.reset_requested`), never in an answer.
 */
export async function requestPasswordReset (ctx: AccountsContext, id: AccountIdentifier, request?: FastifyRequest): Promise<boolean> {
  const type = 'password.reset_requested'
  const user = await findAccount(ctx, id)
  const skip = (cause: string): false => {
    ctx.gk.record({ type, outcome: 'failure', cause, userId: user?.id ?? null }, request)
    return false
  }
  if (user === null) return skip('unknown_account')
  if (user.disabled) return skip('disabled')
  if (user.email == null) return skip('no_email')
  if (!await ctx.limits.mail(user.id, user.email)) return skip('rate_limited')
  const { token, expiresAt } = await issueToken(ctx, user.id, 'password_reset', user.email, ctx.o.ttl.passwordReset)
  if (!await deliver(ctx, 'password_reset', user.email, user.id, token, expiresAt, request)) return skip('mail_failed')
  ctx.gk.record({ type, outcome: 'success', userId: user.id }, request)
  return true
}

/**
 * Sets a new password with a reset token. The token is checked, then the
 * password policy, then the token is used up atomically right before the
 * password is stored (a refused password never costs the token; of two
 * concurrent resets with one token exactly one succeeds). Every refresh
 * session ends, the address counts as verified (the link proved it), and a
 * lockout of the account is lifted only now.
 */
export async function resetPassword (ctx: AccountsContext, token: unknown, newPassword: string, request?: FastifyRequest): Promise<{ userId: string }> {
  const type = 'password.reset'
  const checked = await checkToken(ctx, token, ['password_reset'], type, request)
  const { user, record } = checked
  // A link mailed to an address the account no longer has is dead.
  if (!sameEmail(user.email, record.email)) refuseToken(ctx, type, 'email_changed', user.id, request)
  await ctx.gk.users.setPassword(user.id, newPassword, {
    request,
    reason: 'password_reset',
    claim: async () => {
      await consumeToken(ctx, checked, type, request)
      return true
    }
  })
  const verified = user.emailVerifiedAt == null
  if (verified) {
    await ctx.users.update(user.id, { emailVerifiedAt: new Date(ctx.gk.now()) })
    ctx.gk.jwt.forgetUser(user.id)
  }
  try {
    await ctx.gk.protection.unlock(user.username)
  } catch (err) {
    // The password is reset; a lockout that outlives it expires on its own.
    ctx.log.error({ err: { message: fieldOf(err, 'message') }, userId: user.id }, 'gatekeeper: could not lift the lockout after a password reset')
  }
  ctx.gk.record({ type, outcome: 'success', userId: user.id, emailVerified: verified }, request)
  return { userId: user.id }
}
