/** The mails of the `accounts` plugin. */
export const MAIL_KINDS = ['password_reset', 'password_changed', 'email_verification', 'email_change', 'email_changed'] as const

/**
 * What a mail is for:
 * - `password_reset`: a link to choose a new password (to the account's address);
 * - `password_changed`: a notice that the password changed, with a link to reset it if that was not the owner;
 * - `email_verification`: a link that proves the address is the user's;
 * - `email_change`: a link that confirms a new address (to the new address);
 * - `email_changed`: a notice that the address changed, with a link that reverts it (to the previous address).
 */
export type MailKind = typeof MAIL_KINDS[number]

/** One mail for the `send` hook to deliver. */
export interface AccountMail {
  kind: MailKind
  /** The recipient's address. */
  to: string
  /** The account it is about. */
  userId: string
  /** The link to put in the mail: your frontend's page, with the one-time token in the fragment (`#token=…`) where there is one. */
  url: string
  /** When the link stops working; `null` for a notice without a token. */
  expiresAt: Date | null
}

/** Delivers a mail. Rejecting (or throwing) is logged and recorded as `account.mail_failed`; the flow goes on. */
export type SendMail = (mail: AccountMail) => void | Promise<void>

/** A mail's subject and bodies. */
export interface RenderedMail {
  subject: string
  text: string
  html?: string
}

const SUBJECTS: Record<MailKind, string> = {
  password_reset: 'Reset your password',
  password_changed: 'Your password was changed',
  email_verification: 'Confirm your email address',
  email_change: 'Confirm your new email address',
  email_changed: 'Your email address was changed'
}

function until (at: Date | null): string {
  return at === null ? '' : ` The link works once, until ${at.toUTCString()}.`
}

/**
 * The default plain-text mails, in English. `appName` names the service
 * ("your Acme account"). Replace them with the adapter's `render` option.
 */
export function renderMail (mail: AccountMail, appName: string): RenderedMail {
  const account = `your ${appName} account`
  const lines: Record<MailKind, string> = {
    password_reset: `Someone asked to reset the password of ${account}. To choose a new one, open:\n\n${mail.url}\n\n${until(mail.expiresAt).trim()} If you did not ask, ignore this mail: your password stays as it is.`,
    password_changed: `The password of ${account} was just changed, and every session was signed out. If that was not you, reset it now:\n\n${mail.url}`,
    email_verification: `Please confirm that this address belongs to ${account}:\n\n${mail.url}\n\n${until(mail.expiresAt).trim()} If you did not sign up, ignore this mail.`,
    email_change: `Someone asked to use this address for ${account}. To confirm, open:\n\n${mail.url}\n\n${until(mail.expiresAt).trim()} If you did not ask, ignore this mail and nothing changes.`,
    email_changed: `The email address of ${account} was changed from this address to another. If that was not you, undo it and sign out every session:\n\n${mail.url}\n\n${until(mail.expiresAt).trim()}`
  }
  return { subject: SUBJECTS[mail.kind], text: `${lines[mail.kind].trim()}\n` }
}
