import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { errors } from '../core/errors.js'
import { fieldOf } from '../core/json.js'
import type { Gatekeeper } from '../core/gatekeeper.js'
import { normalizeEmail, type AccountTokenKind, type AccountTokenRecord, type AccountTokenRepository, type UserRecord, type UserRepository } from '../stores/types.js'
import type { Jobs } from './jobs.js'
import type { MailLimits } from './limits.js'
import { accountLink } from './links.js'
import type { AccountMail, MailKind } from './mail.js'
import type { NormalizedAccountsOptions } from './options.js'
import { hashAccountToken, isAccountTokenFormat, newAccountToken } from './token.js'
import type { AccountEventType } from './events.js'

/** A users repository that can look users up by email. */
export type EmailUsers = UserRepository & { findByEmail: NonNullable<UserRepository['findByEmail']> }

/** Everything the account flows share, built once by the plugin. */
export interface AccountsContext {
  readonly gk: Gatekeeper
  readonly o: NormalizedAccountsOptions
  readonly users: EmailUsers
  readonly tokens: AccountTokenRepository
  readonly limits: MailLimits
  readonly jobs: Jobs
  readonly log: FastifyBaseLogger
}

/** Whether two addresses are the same mailbox (both present, equal after normalisation). */
export function sameEmail (a: string | null | undefined, b: string | null | undefined): boolean {
  return a != null && b != null && normalizeEmail(a) === normalizeEmail(b)
}

/** A token that passed every check but the atomic consume, with its user. */
export interface CheckedToken {
  hash: string
  record: AccountTokenRecord
  user: UserRecord
}

/**
 * Records the refusal of a token under `type` (`cause` says why, for the
 * audit trail only) and throws `GK_INVALID_GRANT`: one answer, byte for
 * byte, whether the token is malformed, unknown, used, expired, of another
 * kind or of an account that changed.
 */
export function refuseToken (ctx: AccountsContext, type: AccountEventType, cause: string, userId: string | null, request?: FastifyRequest): never {
  ctx.gk.record({ type, outcome: 'failure', reason: 'GK_INVALID_GRANT', cause, userId }, request)
  throw new errors.GK_INVALID_GRANT()
}

/** Looks a token up and checks it (format, kind, unused, unexpired, its user enabled) without using it up. */
export async function checkToken (ctx: AccountsContext, token: unknown, kinds: readonly AccountTokenKind[], type: AccountEventType, request?: FastifyRequest): Promise<CheckedToken> {
  if (!isAccountTokenFormat(token)) refuseToken(ctx, type, 'malformed', null, request)
  const hash = hashAccountToken(token)
  const record = await ctx.tokens.findByHash(hash)
  if (record === null) refuseToken(ctx, type, 'unknown', null, request)
  if (!kinds.includes(record.kind)) refuseToken(ctx, type, 'wrong_kind', record.userId, request)
  if (record.consumedAt !== null) refuseToken(ctx, type, 'used', record.userId, request)
  if (record.expiresAt.getTime() <= ctx.gk.now()) refuseToken(ctx, type, 'expired', record.userId, request)
  const user = await ctx.users.findById(record.userId)
  if (user === null || user.disabled) refuseToken(ctx, type, 'account', record.userId, request)
  return { hash, record, user }
}

/** Uses a checked token up, atomically; throws (as {@link refuseToken}) when another request used it first. */
export async function consumeToken (ctx: AccountsContext, checked: CheckedToken, type: AccountEventType, request?: FastifyRequest): Promise<void> {
  if (await ctx.tokens.consume(checked.hash, checked.record.kind, new Date(ctx.gk.now())) === null) refuseToken(ctx, type, 'used', checked.user.id, request)
}

/** Stores a new token of `kind` for `userId` about `email`; returns the token (for the link) and its expiry. */
export async function issueToken (ctx: AccountsContext, userId: string, kind: AccountTokenKind, email: string, ttlMs: number): Promise<{ token: string, expiresAt: Date }> {
  const { token, hash } = newAccountToken()
  const expiresAt = new Date(ctx.gk.now() + ttlMs)
  await ctx.tokens.create({ hash, userId, kind, email, expiresAt })
  return { token, expiresAt }
}

const PAGE_OF: Record<MailKind, keyof NormalizedAccountsOptions['pages']> = {
  password_reset: 'resetPassword',
  password_changed: 'forgotPassword',
  email_verification: 'verifyEmail',
  email_change: 'verifyEmail',
  email_changed: 'revertEmail'
}

/**
 * Hands a mail to the `send` hook. A failure is logged (with the token and
 * link scrubbed from the message: a transport may echo what it was given)
 * and recorded as `account.mail_failed`; it never reaches the caller.
 */
export async function deliver (ctx: AccountsContext, kind: MailKind, to: string, userId: string, token: string | null, expiresAt: Date | null, request?: FastifyRequest): Promise<boolean> {
  const url = accountLink(ctx.o.origin, ctx.o.pages[PAGE_OF[kind]], token)
  const mail: AccountMail = { kind, to, userId, url, expiresAt }
  try {
    await ctx.o.send(mail)
    return true
  } catch (err) {
    let message = String(fieldOf(err, 'message') ?? err)
    if (token !== null) message = message.replaceAll(token, '[Redacted]')
    ctx.log.error({ mailKind: kind, userId, err: { name: fieldOf(err, 'name'), code: fieldOf(err, 'code'), message } }, 'gatekeeper: an account mail could not be sent')
    ctx.gk.record({ type: 'account.mail_failed', outcome: 'failure', kind, userId }, request)
    return false
  }
}
