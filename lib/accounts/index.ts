/**
 * `fastify-gatekeeper/accounts`: the `accounts` plugin (forgotten password,
 * email verification, email change), its `send` hook types and the
 * nodemailer adapter.
 */
import { accounts } from './plugin.js'

export { accounts, type AccountsOptions } from './plugin.js'
export type { AccountsApi } from './api.js'
export type { AccountIdentifier } from './reset.js'
export { renderMail, type AccountMail, type MailKind, type RenderedMail, type SendMail } from './mail.js'
export { nodemailerSender, type MailTransport, type NodemailerSenderOptions } from './nodemailer.js'
export type { AccountTokenKind, AccountTokenRecord, AccountTokenRepository, NewAccountToken } from '../stores/types.js'
export default accounts
