import type { FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import { cleanEmail } from '../jwt/email.js'
import type { UserPatch, UserRecord } from '../stores/types.js'
import { checkToken, consumeToken, deliver, issueToken, refuseToken, sameEmail, type AccountsContext, type CheckedToken } from './context.js'

/** Whether the username is the address (then it follows the address when it changes). */
const usernameIsEmail = (user: UserRecord): boolean => sameEmail(user.username, user.email)

/** Whether another account has `email` as its address, or as its username when the user's username would follow. */
async function takenByAnother (ctx: AccountsContext, user: UserRecord, email: string): Promise<boolean> {
  const byEmail = await ctx.users.findByEmail(email)
  if (byEmail !== null && byEmail.id !== user.id) return true
  if (!usernameIsEmail(user)) return false
  const byLogin = await ctx.users.findByLogin(email)
  return byLogin !== null && byLogin.id !== user.id
}

/**
 * Mails a confirmation link to `newEmail` (the caller has checked the user's
 * password and the address's shape). No mail when the user is gone or
 * disabled, when another account has the address, or over the mail limits
 * (per account and per recipient, so nobody floods a stranger's inbox
 * through change requests). Recorded as `email.change_requested`.
 */
export async function requestEmailChange (ctx: AccountsContext, userId: string, newEmail: string, request?: FastifyRequest): Promise<boolean> {
  const type = 'email.change_requested'
  const email = cleanEmail(newEmail)
  const user = await ctx.users.findById(userId)
  const skip = (cause: string): false => {
    ctx.gk.record({ type, outcome: 'failure', cause, userId }, request)
    return false
  }
  if (user === null) return skip('unknown_account')
  if (user.disabled) return skip('disabled')
  if (await takenByAnother(ctx, user, email)) return skip('email_taken')
  if (!await ctx.limits.mail(user.id, email)) return skip('rate_limited')
  const { token, expiresAt } = await issueToken(ctx, user.id, 'email_change', email, ctx.o.ttl.emailChange)
  if (!await deliver(ctx, 'email_change', email, user.id, token, expiresAt, request)) return skip('mail_failed')
  ctx.gk.record({ type, outcome: 'success', userId: user.id }, request)
  return true
}

/**
 * Moves the account to the confirmed new address (verified now; the
 * username follows when it was the old address), voids the tokens mailed to
 * the old one, and mails the old address a notice with a revert link.
 * `409 GK_CONFLICT` when another account took the address meanwhile.
 */
export async function confirmEmailChange (ctx: AccountsContext, checked: CheckedToken, request?: FastifyRequest): Promise<void> {
  const type = 'email.changed'
  const { user, record } = checked
  const next = record.email
  // Issued with the new address; a token without one is refused like any unusable token.
  if (next === null) refuseToken(ctx, type, 'no address', user.id, request)
  if (await takenByAnother(ctx, user, next)) {
    ctx.gk.record({ type, outcome: 'failure', reason: 'GK_CONFLICT', userId: user.id }, request)
    throw new errors.GK_CONFLICT('email already taken')
  }
  await consumeToken(ctx, checked, type, request)
  const previous = user.email ?? null
  const patch: UserPatch = { email: next, emailVerifiedAt: new Date(ctx.gk.now()) }
  if (usernameIsEmail(user)) patch.username = next
  await ctx.users.update(user.id, patch)
  await ctx.tokens.revokeForUser(user.id, ['email_verification', 'password_reset'])
  ctx.gk.jwt.forgetUser(user.id)
  ctx.gk.record({ type, outcome: 'success', userId: user.id, usernameChanged: patch.username !== undefined }, request)
  if (previous !== null && !sameEmail(previous, next)) {
    const { token, expiresAt } = await issueToken(ctx, user.id, 'email_revert', previous, ctx.o.ttl.emailRevert)
    await deliver(ctx, 'email_changed', previous, user.id, token, expiresAt, request)
  }
}

/**
 * Uses a revert link mailed to a previous address: the account gets that
 * address back (verified; the username follows when it was the address),
 * every pending account token and every refresh session of the user ends —
 * whoever changed the address may hold the account. `409 GK_CONFLICT` when
 * another account took the address meanwhile.
 */
export async function revertEmail (ctx: AccountsContext, token: unknown, request?: FastifyRequest): Promise<{ userId: string }> {
  const type = 'email.reverted'
  const checked = await checkToken(ctx, token, ['email_revert'], type, request)
  const { user, record } = checked
  const back = record.email
  if (back === null) refuseToken(ctx, type, 'no address', user.id, request)
  const byEmail = await ctx.users.findByEmail(back)
  const byLogin = usernameIsEmail(user) ? await ctx.users.findByLogin(back) : null
  if ((byEmail !== null && byEmail.id !== user.id) || (byLogin !== null && byLogin.id !== user.id)) {
    ctx.gk.record({ type, outcome: 'failure', reason: 'GK_CONFLICT', userId: user.id }, request)
    throw new errors.GK_CONFLICT('email already taken')
  }
  await consumeToken(ctx, checked, type, request)
  const now = new Date(ctx.gk.now())
  const patch: UserPatch = { email: back, emailVerifiedAt: now }
  if (usernameIsEmail(user)) patch.username = back
  await ctx.users.update(user.id, patch)
  await ctx.tokens.revokeForUser(user.id, ['email_change', 'email_revert', 'email_verification', 'password_reset'])
  const sessionsRevoked = await ctx.gk.store.refreshTokens.revokeAllForUser(user.id, now, 'email_reverted')
  ctx.gk.jwt.forgetUser(user.id)
  ctx.gk.record({ type, outcome: 'success', userId: user.id, sessionsRevoked }, request)
  return { userId: user.id }
}
