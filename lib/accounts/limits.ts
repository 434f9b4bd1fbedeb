import { createHash } from 'node:crypto'
import { normalizeEmail } from '../stores/types.js'
import type { CounterStore } from '../protection/counters.js'
import { clientAddress } from '../protection/ip.js'

/** One sliding-window limit. */
export interface WindowLimit {
  readonly max: number
  readonly windowMs: number
}

// Hashed: bounded key length, and no address or account id in a shared counter backend.
const digest = (s: string): string => createHash('sha256').update(s).digest('base64url').slice(0, 24)

const K = {
  client: (addr: string) => `acct:c:${addr}`,
  account: (userId: string) => `acct:a:${digest(userId)}`,
  mailbox: (email: string) => `acct:m:${digest(normalizeEmail(email))}`
}

/**
 * Limits on the mails the account flows send, over the protection's counters
 * (in Redis when the core has `redis`, so every instance counts together):
 * - requests per client address (`perAddress`): over it the route answers 429,
 *   the same for known and unknown accounts;
 * - mails per account and per recipient address (`perAccount`): over either,
 *   the mail is silently not sent, so nobody can flood one person's inbox
 *   from many addresses, and the answer does not change.
 */
export class MailLimits {
  readonly #c: CounterStore
  readonly #perAddress: WindowLimit
  readonly #perAccount: WindowLimit

  constructor (counters: CounterStore, perAddress: WindowLimit, perAccount: WindowLimit) {
    this.#c = counters
    this.#perAddress = perAddress
    this.#perAccount = perAccount
  }

  /** Counts a request from `ip`; the ms to wait when it is over the limit, else `null`. */
  async client (ip: string, now: number): Promise<number | null> {
    const { max, windowMs } = this.#perAddress
    const hits = await this.#c.hit(K.client(clientAddress(ip)), windowMs, max + 1)
    // Over the limit, the window holds hits: `oldest` is set.
    return hits.count > max ? (hits.oldest ?? now) + windowMs - now : null
  }

  /** Counts a mail to `email` for `userId`; `true` when both are within the limit. */
  async mail (userId: string, email: string): Promise<boolean> {
    const { max, windowMs } = this.#perAccount
    const account = await this.#c.hit(K.account(userId), windowMs, max + 1)
    const mailbox = await this.#c.hit(K.mailbox(email), windowMs, max + 1)
    return account.count <= max && mailbox.count <= max
  }
}
