import { configError } from '../core/errors.js'
import { fieldOf } from '../core/json.js'
import { renderMail, type AccountMail, type RenderedMail, type SendMail } from './mail.js'

/** The part of a nodemailer transport the adapter uses (any transport: SMTP, SES, sendmail, a stream for tests). */
export interface MailTransport {
  sendMail (message: Record<string, unknown>): Promise<unknown>
}

/** Options of {@link nodemailerSender}. */
export interface NodemailerSenderOptions {
  /** A transport from `nodemailer.createTransport()`, or the options (or URL) to make one with. */
  transport: MailTransport | string | Record<string, unknown>
  /** The sender, such as `'Acme <no-reply@acme.example>'`. */
  from: string
  /** Names the service in the default texts ("your Acme account"); default `'your'` wording without a name. */
  appName?: string
  /** Your own subject and bodies; default: short plain-text mails in English (`renderMail`). */
  render?: (mail: AccountMail) => RenderedMail | Promise<RenderedMail>
}

interface NodemailerModule {
  createTransport (options: string | Record<string, unknown>): MailTransport
}

/** Loads nodemailer, an optional peer dependency needed only when the adapter makes the transport. */
export async function loadNodemailer (load: () => Promise<unknown> = async () => await import('nodemailer')): Promise<NodemailerModule> {
  let mod: unknown
  try {
    mod = await load()
  } catch {
    return configError('nodemailerSender needs the nodemailer package to make a transport: npm install nodemailer')
  }
  const api = isNodemailer(mod) ? mod : fieldOf(mod, 'default')
  if (!isNodemailer(api)) return configError('the nodemailer package found has no createTransport(): npm install nodemailer')
  return api
}

/** The module itself (ES module) or its default export (CommonJS seen from ESM). */
const isNodemailer = (m: unknown): m is NodemailerModule => typeof fieldOf(m, 'createTransport') === 'function'

const isTransport = (t: unknown): t is MailTransport => typeof fieldOf(t, 'sendMail') === 'function'

/**
 * A `send` hook over nodemailer. Give it a transport you made, or its
 * options (then nodemailer, an optional peer dependency, is loaded now: a
 * missing package is a `GK_CONFIG` error at start-up, not a failed mail).
 * Mails are plain text unless `render` adds HTML, and carry
 * `Auto-Submitted: auto-generated` (RFC 3834) so auto-responders stay quiet.
 *
 * @example
 * const send = await nodemailerSender({ transport: { host: 'smtp.example', port: 587, auth: { user, pass } }, from: 'Acme <no-reply@acme.example>', appName: 'Acme' })
 * await app.register(accounts, { send, origin: 'https://app.acme.example' })
 */
export async function nodemailerSender (options: NodemailerSenderOptions, load?: () => Promise<unknown>): Promise<SendMail> {
  if (options === null || typeof options !== 'object') configError('nodemailerSender needs { transport, from }')
  const { transport: given, from, appName, render } = options
  if (typeof from !== 'string' || from.trim() === '' || /[\r\n]/.test(from)) configError("nodemailerSender from must be an address such as 'Acme <no-reply@acme.example>'")
  if (appName !== undefined && (typeof appName !== 'string' || /[\r\n]/.test(appName))) configError('nodemailerSender appName must be a one-line string')
  if (render !== undefined && typeof render !== 'function') configError('nodemailerSender render must be a function (mail) => ({ subject, text, html? })')
  let transport: MailTransport
  if (isTransport(given)) transport = given
  else if (typeof given === 'string' || (given !== null && typeof given === 'object')) transport = (await loadNodemailer(load)).createTransport(given)
  else return configError('nodemailerSender transport must be a nodemailer transport, or its options or URL')
  const name = appName ?? 'your'
  return async function send (mail: AccountMail): Promise<void> {
    const body = render === undefined ? renderMail(mail, name) : await render(mail)
    await transport.sendMail({
      from,
      to: mail.to,
      subject: body.subject,
      text: body.text,
      ...(body.html === undefined ? {} : { html: body.html }),
      headers: { 'Auto-Submitted': 'auto-generated' }
    })
  }
}
