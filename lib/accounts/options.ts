import Type, { type Static } from 'typebox'
import { boundedMs, type Duration } from '../core/duration.js'
import { checkOptions, dottedVoice, DurationOption } from '../core/options-schema.js'
import { parseOrigin, parsePage } from './links.js'
import type { SendMail } from './mail.js'
import type { WindowLimit } from './limits.js'

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const Page = Type.Optional(Type.String({ errorMessage: "must be a path starting with '/'" }))
const Limit = Type.Object({
  max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, errorMessage: 'must be an integer from 1 to 10000' })),
  window: Type.Optional(DurationOption)
}, { additionalProperties: false, errorMessage: 'must be an object' })

/** Options of the `accounts` plugin. */
export const AccountsOptionsSchema = Type.Object({
  /** Delivers a mail (see {@link SendMail}); `nodemailerSender()` makes one for any nodemailer transport. */
  send: Type.Unsafe<SendMail>(Type.Function([], Type.Unknown(), { message: 'accounts needs send: a function ({ kind, to, userId, url, expiresAt }) => Promise<void>, such as await nodemailerSender({ transport, from })' })),
  /**
   * The public origin of your frontend (`'https://app.example'`): every link
   * is built from it and `pages`, never from the request's `Host`. `https`
   * (`http` only for localhost).
   */
  origin: Type.String({ message: "accounts origin is required: the public origin of your frontend, such as 'https://app.example'" }),
  /** The frontend's pages the links open (the forms are yours; the token comes in the fragment, `#token=…`). */
  pages: Type.Optional(Type.Object({
    /** Default `'/reset-password'`. */
    resetPassword: Page,
    /** Default `'/verify-email'`: verification and email-change links. */
    verifyEmail: Page,
    /** Default `'/revert-email'`. */
    revertEmail: Page,
    /** Default `'/forgot-password'`: linked from the "password changed" notice. */
    forgotPassword: Page
  }, { additionalProperties: false, errorMessage: 'must be an object' })),
  /** The routes' prefix (default `{ prefix: '/api' }`); `false` registers no route (use `app.gatekeeper.accounts`). */
  routes: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    prefix: Type.Optional(Type.String({ pattern: '^(/[A-Za-z0-9\\-._~]+)*$', errorMessage: "must be '' or a path such as '/api' (no trailing slash)" }))
  }, { additionalProperties: false })], { errorMessage: 'must be an object { prefix? } or false' })),
  /** How long links work. */
  ttl: Type.Optional(Type.Object({
    /** Default `'30m'`, from `'1m'` to `'1h'`. */
    passwordReset: Type.Optional(DurationOption),
    /** Default `'24h'`, from `'5m'` to `'7d'`. */
    emailVerification: Type.Optional(DurationOption),
    /** Default `'1h'`, from `'5m'` to `'24h'`. */
    emailChange: Type.Optional(DurationOption),
    /** Default `'7d'`, from `'1h'` to `'30d'`: the previous owner of an address must have time to notice. */
    emailRevert: Type.Optional(DurationOption)
  }, { additionalProperties: false, errorMessage: 'must be an object' })),
  /** Mail limits (see docs/accounts.md). */
  limits: Type.Optional(Type.Object({
    /** Mail requests per client address (default `{ max: 10, window: '15m' }`); over it: 429. */
    perAddress: Type.Optional(Limit),
    /** Mails per account and per recipient address (default `{ max: 3, window: '1h' }`); over it: no mail, same answer. */
    perAccount: Type.Optional(Limit)
  }, { additionalProperties: false, errorMessage: 'must be an object' })),
  /** Mail a verification link when the jwt plugin's register route creates an account with an email (default `true`). */
  verifyOnRegister: Type.Optional(Type.Boolean({ errorMessage: 'must be a boolean' })),
  /**
   * Until their email is verified, users are: let in as usual (`false`,
   * default); refused at login with `403 GK_EMAIL_NOT_VERIFIED` (`'login'`);
   * or let in with only the given role in their tokens (`{ role }`).
   */
  requireVerifiedEmail: Type.Optional(Type.Union([Type.Literal(false), Type.Literal('login'), Type.Object({
    role: Type.String({ minLength: 1, errorMessage: "must be a role name, such as 'unverified'" })
  }, { additionalProperties: false })], { errorMessage: "(false, 'login' or { role }) must be an object" })),
  /** How often expired tokens are deleted (default `'1h'`); `false` for never (call `purge()` yourself). */
  purgeInterval: Type.Optional(Type.Union([Type.Literal(false), DurationOption])),
  /** Most mails being prepared or sent at once (default 1000); past it a request's mail is dropped and logged. */
  maxPending: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, errorMessage: 'must be an integer from 1 to 100000' }))
}, { additionalProperties: false, errorMessage: 'must be an object' })

/** Options of the `accounts` plugin. */
export type AccountsOptions = Static<typeof AccountsOptionsSchema>

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

type Limits = NonNullable<AccountsOptions['limits']>

function limit (o: Limits['perAddress'] = {}, name: string, max: number, window: Duration): WindowLimit {
  return Object.freeze({ max: o.max ?? max, windowMs: boundedMs(o.window, `accounts limits.${name}.window`, window, 1000, 7 * DAY) })
}

/** Validates the options once, at registration; every problem is a GK_CONFIG saying what to change. */
export function normalizeAccountsOptions (opts: AccountsOptions): NormalizedAccountsOptions {
  const o = checkOptions(AccountsOptionsSchema, opts, dottedVoice('accounts options', 'accounts '))
  const pages = o.pages ?? {}
  const ttl = o.ttl ?? {}
  const r = o.requireVerifiedEmail
  return Object.freeze({
    send: o.send,
    origin: parseOrigin(o.origin),
    pages: Object.freeze({
      resetPassword: parsePage(pages.resetPassword, 'resetPassword', '/reset-password'),
      verifyEmail: parsePage(pages.verifyEmail, 'verifyEmail', '/verify-email'),
      revertEmail: parsePage(pages.revertEmail, 'revertEmail', '/revert-email'),
      forgotPassword: parsePage(pages.forgotPassword, 'forgotPassword', '/forgot-password')
    }),
    prefix: o.routes === false ? null : o.routes?.prefix ?? '/api',
    ttl: Object.freeze({
      // The bound and OWASP's Forgot Password Cheat Sheet: a reset link lives an hour at most.
      passwordReset: boundedMs(ttl.passwordReset, 'accounts ttl.passwordReset', '30m', MINUTE, HOUR),
      emailVerification: boundedMs(ttl.emailVerification, 'accounts ttl.emailVerification', '24h', 5 * MINUTE, 7 * DAY),
      emailChange: boundedMs(ttl.emailChange, 'accounts ttl.emailChange', '1h', 5 * MINUTE, DAY),
      emailRevert: boundedMs(ttl.emailRevert, 'accounts ttl.emailRevert', '7d', HOUR, 30 * DAY)
    }),
    perAddress: limit(o.limits?.perAddress, 'perAddress', 10, '15m'),
    perAccount: limit(o.limits?.perAccount, 'perAccount', 3, '1h'),
    verifyOnRegister: o.verifyOnRegister !== false,
    requireVerifiedEmail: r === undefined || r === false ? false : r === 'login' ? 'login' : Object.freeze({ role: r.role }),
    purgeMs: o.purgeInterval === false ? null : boundedMs(o.purgeInterval, 'accounts purgeInterval', '1h', 1000, 7 * DAY),
    maxPending: o.maxPending ?? 1000
  })
}
