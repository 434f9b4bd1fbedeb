import type { AccountMail } from 'fastify-gatekeeper/accounts'

/**
 * The demo's mail "server": account mails (password reset, verification,
 * email change) are kept here and printed to the console, so the flows can be
 * followed end to end without SMTP. Development only: the links carry
 * one-time tokens that a real deployment sends by mail and never logs.
 */
export const outbox: AccountMail[] = []

/** The accounts plugin's `send` hook of the demo. */
export function printMail (mail: AccountMail): void {
  outbox.push(mail)
  process.stdout.write(`\n[outbox] mail to ${mail.to} (${mail.kind}):\n  ${mail.url}\n  token: ${mail.url.split('#token=')[1] ?? '(none)'}\n`)
}
