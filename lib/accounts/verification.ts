import type { FastifyRequest } from 'fastify'
import { confirmEmailChange } from './change.js'
import { checkToken, consumeToken, deliver, issueToken, refuseToken, sameEmail, type AccountsContext } from './context.js'

/**
 * Mails a verification link to the user's current address, unless the user
 * is missing or disabled, has no address, is verified already or is over
 * the mail limits. Resolves whether a mail went out (the reason it did not
 * is recorded as `email.verification_requested`).
 */
export async function requestVerification (ctx: AccountsContext, userId: string | null, request?: FastifyRequest): Promise<boolean> {
  const type = 'email.verification_requested'
  const user = userId === null ? null : await ctx.users.findById(userId)
  const skip = (cause: string): false => {
    ctx.gk.record({ type, outcome: 'failure', cause, userId: user?.id ?? null }, request)
    return false
  }
  if (user === null) return skip('unknown_account')
  if (user.disabled) return skip('disabled')
  if (user.email == null) return skip('no_email')
  if (user.emailVerifiedAt != null) return skip('already_verified')
  if (!await ctx.limits.mail(user.id, user.email)) return skip('rate_limited')
  const { token, expiresAt } = await issueToken(ctx, user.id, 'email_verification', user.email, ctx.o.ttl.emailVerification)
  if (!await deliver(ctx, 'email_verification', user.email, user.id, token, expiresAt, request)) return skip('mail_failed')
  ctx.gk.record({ type, outcome: 'success', userId: user.id }, request)
  return true
}

/**
 * Uses a token mailed by a verification or an email change: a verification
 * marks the address the token was mailed to as verified (a token for an
 * address the user no longer has is refused); a change moves the account to
 * the new address (see {@link confirmEmailChange}).
 */
export async function verifyEmail (ctx: AccountsContext, token: unknown, request?: FastifyRequest): Promise<{ userId: string, changed: boolean }> {
  const type = 'email.verified'
  const checked = await checkToken(ctx, token, ['email_verification', 'email_change'], type, request)
  if (checked.record.kind === 'email_change') {
    await confirmEmailChange(ctx, checked, request)
    return { userId: checked.user.id, changed: true }
  }
  const { user, record } = checked
  if (!sameEmail(user.email, record.email)) refuseToken(ctx, type, 'email_changed', user.id, request)
  await consumeToken(ctx, checked, type, request)
  if (user.emailVerifiedAt == null) await ctx.users.update(user.id, { emailVerifiedAt: new Date(ctx.gk.now()) })
  // checkUser (and the role filter of requireVerifiedEmail) see the verification at the next request.
  ctx.gk.jwt.forgetUser(user.id)
  ctx.gk.record({ type, outcome: 'success', userId: user.id }, request)
  return { userId: user.id, changed: false }
}
