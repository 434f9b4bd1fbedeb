import { boundedMs, type Duration } from '../core/duration.js'
import { configError } from '../core/errors.js'
import { parseOrigin, parsePage } from './links.js'
import type { SendMail } from './mail.js'
import type { WindowLimit } from './limits.js'

/** Options of the `accounts` plugin. */
export interface AccountsOptions {
  /** Delivers a mail (see {@link SendMail}); `nodemailerSender()` makes one for any nodemailer transport. */
  send: SendMail
  /**
   * The public origin of your frontend (`'https://app.example'`): every link
   * is built from it and `pages`, never from the request's `Host`. `https`
   * (`http` only for localhost).
   */
  origin: string
  /** The frontend's pages the links open (the forms are yours; the token comes in the fragment, `#token=…`). */
  pages?: {
    /** Default `'/reset-password'`. */
    resetPassword?: string
    /** Default `'/verify-email'`: verification and email-change links. */
    verifyEmail?: string
    /** Default `'/revert-email'`. */
    revertEmail?: string
    /** Default `'/forgot-password'`: linked from the "password changed" notice. */
    forgotPassword?: string
  }
  /** The routes' prefix (default `{ prefix: '/api' }`); `false` registers no route (use `app.gatekeeper.accounts`). */
  routes?: { prefix?: string } | false
  /** How long links work. */
  ttl?: {
    /** Default `'30m'`, from `'1m'` to `'1h'`. */
    passwordReset?: Duration
    /** Default `'24h'`, from `'5m'` to `'7d'`. */
    emailVerification?: Duration
    /** Default `'1h'`, from `'5m'` to `'24h'`. */
    emailChange?: Duration
    /** Default `'7d'`, from `'1h'` to `'30d'`: the previous owner of an address must have time to notice. */
    emailRevert?: Duration
  }
  /** Mail limits (see docs/accounts.md). */
  limits?: {
    /** Mail requests per client address (default `{ max: 10, window: '15m' }`); over it: 429. */
    perAddress?: { max?: number, window?: Duration }
    /** Mails per account and per recipient address (default `{ max: 3, window: '1h' }`); over it: no mail, same answer. */
    perAccount?: { max?: number, window?: Duration }
  }
  /** Mail a verification link when the jwt plugin's register route creates an account with an email (default `true`). */
  verifyOnRegister?: boolean
  /**
   * Until their email is verified, users are: let in as usual (`false`,
   * default); refused at login with `403 GK_EMAIL_NOT_VERIFIED` (`'login'`);
   * or let in with only the given role in their tokens (`{ role }`).
   */
  requireVerifiedEmail?: false | 'login' | { role: string }
  /** How often expired tokens are deleted (default `'1h'`); `false` for never (call `purge()` yourself). */
  purgeInterval?: Duration | false
  /** Most mails being prepared or sent at once (default 1000); past it a request's mail is dropped and logged. */
  maxPending?: number
}

/** The options after validation. */
export interface NormalizedAccountsOptions {
  readonly send: SendMail
  readonly origin: string
  readonly pages: { readonly resetPassword: string, readonly verifyEmail: string, readonly revertEmail: string, readonly forgotPassword: string }
  readonly prefix: string | null
  readonly ttl: { readonly passwordReset: number, readonly emailVerification: number, readonly emailChange: number, readonly emailRevert: number }
  readonly perAddress: WindowLimit
  readonly perAccount: WindowLimit
  readonly verifyOnRegister: boolean
  readonly requireVerifiedEmail: false | 'login' | { readonly role: string }
  readonly purgeMs: number | null
  readonly maxPending: number
}

const KEYS = ['send', 'origin', 'pages', 'routes', 'ttl', 'limits', 'verifyOnRegister', 'requireVerifiedEmail', 'purgeInterval', 'maxPending']
const PREFIX = /^(\/[A-Za-z0-9\-._~]+)*$/
const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

function object (value: unknown, name: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${name} must be an object`)
  for (const k of Object.keys(value)) if (!allowed.includes(k)) configError(`unknown option ${name}.${k} (allowed: ${allowed.join(', ')})`)
  return value as Record<string, unknown>
}

function limit (value: unknown, name: string, max: number, window: Duration): WindowLimit {
  const o = object(value ?? {}, `accounts limits.${name}`, ['max', 'window'])
  const m = o.max ?? max
  if (!Number.isInteger(m) || (m as number) < 1 || (m as number) > 10_000) configError(`accounts limits.${name}.max must be an integer from 1 to 10000`)
  return Object.freeze({ max: m as number, windowMs: boundedMs(o.window as Duration | undefined, `accounts limits.${name}.window`, window, 1000, 7 * DAY) })
}

function requirement (value: unknown): NormalizedAccountsOptions['requireVerifiedEmail'] {
  if (value === undefined || value === false) return false
  if (value === 'login') return 'login'
  const o = object(value, "accounts requireVerifiedEmail (false, 'login' or { role })", ['role'])
  if (typeof o.role !== 'string' || o.role.length === 0) configError("accounts requireVerifiedEmail.role must be a role name, such as 'unverified'")
  return Object.freeze({ role: o.role })
}

/** Validates the options once, at registration; every problem is a GK_CONFIG saying what to change. */
export function normalizeAccountsOptions (opts: AccountsOptions): NormalizedAccountsOptions {
  const o = object(opts, 'accounts options', KEYS)
  if (typeof o.send !== 'function') configError('accounts needs send: a function ({ kind, to, userId, url, expiresAt }) => Promise<void>, such as await nodemailerSender({ transport, from })')
  const pages = object(o.pages ?? {}, 'accounts pages', ['resetPassword', 'verifyEmail', 'revertEmail', 'forgotPassword'])
  let prefix: string | null = '/api'
  if (o.routes === false) prefix = null
  else if (o.routes !== undefined) {
    const r = object(o.routes, 'accounts routes', ['prefix'])
    if (r.prefix !== undefined) {
      if (typeof r.prefix !== 'string' || !PREFIX.test(r.prefix)) configError("accounts routes.prefix must be '' or a path such as '/api' (no trailing slash)")
      prefix = r.prefix
    }
  }
  const ttl = object(o.ttl ?? {}, 'accounts ttl', ['passwordReset', 'emailVerification', 'emailChange', 'emailRevert'])
  const limits = object(o.limits ?? {}, 'accounts limits', ['perAddress', 'perAccount'])
  if (o.verifyOnRegister !== undefined && typeof o.verifyOnRegister !== 'boolean') configError('accounts verifyOnRegister must be a boolean')
  const maxPending = o.maxPending ?? 1000
  if (!Number.isInteger(maxPending) || (maxPending as number) < 1 || (maxPending as number) > 100_000) configError('accounts maxPending must be an integer from 1 to 100000')
  return Object.freeze({
    send: o.send as SendMail,
    origin: parseOrigin(o.origin),
    pages: Object.freeze({
      resetPassword: parsePage(pages.resetPassword, 'resetPassword', '/reset-password'),
      verifyEmail: parsePage(pages.verifyEmail, 'verifyEmail', '/verify-email'),
      revertEmail: parsePage(pages.revertEmail, 'revertEmail', '/revert-email'),
      forgotPassword: parsePage(pages.forgotPassword, 'forgotPassword', '/forgot-password')
    }),
    prefix,
    ttl: Object.freeze({
      // The bound and OWASP's Forgot Password Cheat Sheet: a reset link lives an hour at most.
      passwordReset: boundedMs(ttl.passwordReset as Duration | undefined, 'accounts ttl.passwordReset', '30m', MINUTE, HOUR),
      emailVerification: boundedMs(ttl.emailVerification as Duration | undefined, 'accounts ttl.emailVerification', '24h', 5 * MINUTE, 7 * DAY),
      emailChange: boundedMs(ttl.emailChange as Duration | undefined, 'accounts ttl.emailChange', '1h', 5 * MINUTE, DAY),
      emailRevert: boundedMs(ttl.emailRevert as Duration | undefined, 'accounts ttl.emailRevert', '7d', HOUR, 30 * DAY)
    }),
    perAddress: limit(limits.perAddress, 'perAddress', 10, '15m'),
    perAccount: limit(limits.perAccount, 'perAccount', 3, '1h'),
    verifyOnRegister: o.verifyOnRegister !== false,
    requireVerifiedEmail: requirement(o.requireVerifiedEmail),
    purgeMs: o.purgeInterval === false ? null : boundedMs(o.purgeInterval as Duration | undefined, 'accounts purgeInterval', '1h', 1000, 7 * DAY),
    maxPending: maxPending as number
  })
}
