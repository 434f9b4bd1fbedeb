import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { AccountMail } from '../../lib/accounts/index.js'

/** One message as the SMTP server received and mailparser read it. */
export interface Received {
  to: string
  from: string
  subject: string
  text: string
  headers: ParsedMail['headers']
  /** The link in the text (the first URL). */
  url: string | null
  /** The token in the link's fragment, if any. */
  token: string | null
}

/**
 * A real SMTP server on loopback (`smtp-server`), reading what arrives with
 * `mailparser`. `latencyMs` delays the answer to every message, like a slow
 * mail provider.
 */
export class SmtpInbox {
  readonly messages: Received[] = []
  latencyMs = 0
  readonly #server: SMTPServer
  #port = 0
  readonly #waiters = new Set<() => void>()

  constructor () {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, callback) => {
        simpleParser(stream).then(async (mail) => {
          if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs))
          this.messages.push(toReceived(mail))
          for (const w of this.#waiters) w()
          callback()
        }, callback)
      }
    })
  }

  async start (): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(0, '127.0.0.1', () => resolve())
    })
    this.#port = (this.#server.server.address() as { port: number }).port
    return this.#port
  }

  /** Options for `nodemailer.createTransport` pointing at this server. */
  get transport (): Record<string, unknown> {
    return { host: '127.0.0.1', port: this.#port, secure: false, ignoreTLS: true }
  }

  async stop (): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /** Messages to `to` (case-insensitive), oldest first. */
  to (to: string): Received[] {
    return this.messages.filter((m) => m.to.toLowerCase() === to.toLowerCase())
  }

  /** Waits until `count` messages to `to` have arrived (or fails after `timeoutMs`), and returns the last. */
  async waitFor (to: string, count = 1, timeoutMs = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    while (this.to(to).length < count) {
      if (Date.now() > deadline) throw new Error(`no mail #${count} to ${to} within ${timeoutMs} ms (got ${this.to(to).length})`)
      await new Promise<void>((resolve) => {
        const done = (): void => { this.#waiters.delete(done); clearTimeout(timer); resolve() }
        const timer = setTimeout(done, 50)
        this.#waiters.add(done)
      })
    }
    return this.to(to)[count - 1] as Received
  }
}

function address (a: ParsedMail['to'] | ParsedMail['from']): string {
  const one = Array.isArray(a) ? a[0] : a
  return one?.value[0]?.address ?? ''
}

function toReceived (mail: ParsedMail): Received {
  const text = mail.text ?? ''
  const url = /https?:\/\/\S+/.exec(text)?.[0] ?? null
  const token = url === null ? null : /#token=([A-Za-z0-9_-]+)$/.exec(url)?.[1] ?? null
  return { to: address(mail.to), from: address(mail.from), subject: mail.subject ?? '', text, headers: mail.headers, url, token }
}

/** A `send` hook that keeps what it is given (for tests that need no SMTP server). */
export function outbox (): { mails: AccountMail[], send: (mail: AccountMail) => void } {
  const mails: AccountMail[] = []
  return { mails, send: (mail) => { mails.push(mail) } }
}

/** The token in a link's fragment. */
export function tokenOf (url: string): string {
  const m = /#token=([A-Za-z0-9_-]+)$/.exec(url)
  if (m === null) throw new Error(`no token in ${url}`)
  return m[1] as string
}
