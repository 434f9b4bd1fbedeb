import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, isGatekeeperError } from '../core/errors.js'
import { isValidEmail, MAX_EMAIL_LENGTH } from '../jwt/email.js'
import { stringBodySchema, stringBodyValidator, type StringField } from '../jwt/schema.js'
import { MAX_USERNAME_LENGTH } from '../jwt/users.js'
import { retryAfterSeconds } from '../protection/guard.js'
import type { AccountsApi } from './api.js'
import { sameEmail, type AccountsContext } from './context.js'
import { findAccount, type AccountIdentifier } from './reset.js'
import { requestVerification } from './verification.js'
import type { AccountEventType } from './events.js'

/** Bodies of these routes are a few hundred bytes; refuse anything bigger unread. */
const BODY_LIMIT = 8 * 1024
/** The one answer of the routes that may send a mail, whoever asked and whatever happened. */
const ACCEPTED = Object.freeze({ accepted: true })
/**
 * Token fields: any string up to the body's size, so a truncated, padded or
 * foreign token (an access token) is refused like every other bad token
 * (one 401), not as malformed input.
 */
const TOKEN: StringField = { minLength: 1, maxLength: 4096 }
/** The longest new password the routes read; the policy (`password.maxLength`, at most 1024) decides the rest. */
const NEW_PASSWORD: StringField = { minLength: 1, maxLength: 1024 }

function invalidRequestErrors (err: FastifyError, _request: FastifyRequest, _reply: FastifyReply): never {
  if (!isGatekeeperError(err) && (err.validation !== undefined || (typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP_')))) {
    throw new errors.GK_INVALID_REQUEST('body must be a JSON object with the documented fields')
  }
  throw err
}

function bodyRoute (fields: Record<string, StringField>): Record<string, unknown> {
  const validate = stringBodyValidator(fields)
  return { bodyLimit: BODY_LIMIT, schema: { body: stringBodySchema(fields) }, validatorCompiler: () => validate, errorHandler: invalidRequestErrors }
}

const IDENTIFIER = {
  email: { minLength: 1, maxLength: MAX_EMAIL_LENGTH, optional: true },
  username: { minLength: 1, maxLength: MAX_USERNAME_LENGTH, optional: true }
}

/** `{ email }` or `{ username }`: exactly one, an email of the right shape. */
function identifier (body: { email?: string, username?: string }): AccountIdentifier {
  const one = (): never => { throw new errors.GK_INVALID_REQUEST('give exactly one of email or username') }
  if (body.email === undefined) return { username: body.username ?? one() }
  if (body.username !== undefined) one()
  if (!isValidEmail(body.email)) throw new errors.GK_INVALID_REQUEST('email must be an address such as ada@example.org')
  return { email: body.email }
}

/** The accounts plugin's routes under `prefix`. */
export function accountRoutes (app: FastifyInstance, ctx: AccountsContext, api: AccountsApi, prefix: string): void {
  const { gk, limits, jobs } = ctx

  /** Counts a mail request from the caller's address; 429 with Retry-After past the limit (the same whoever is named). */
  async function perAddress (request: FastifyRequest, type: AccountEventType): Promise<void> {
    let waitMs: number | null
    try {
      waitMs = await limits.client(request.ip, gk.now())
    } catch (err) {
      // Fail closed: without its counters the limit cannot tell a flood from a single request.
      request.log.error({ err }, 'gatekeeper: account mail counters unavailable')
      throw new errors.GK_STORE_UNAVAILABLE()
    }
    if (waitMs === null) return
    const seconds = retryAfterSeconds(waitMs)
    gk.record({ type, outcome: 'failure', reason: 'GK_RATE_LIMITED', scope: 'address' }, request)
    throw Object.assign(new errors.GK_RATE_LIMITED(`${seconds} seconds`), { headers: { 'retry-after': String(seconds) } })
  }

  const accepted = (reply: FastifyReply): typeof ACCEPTED => {
    reply.code(202).header('cache-control', 'no-store')
    return ACCEPTED
  }
  const done = (reply: FastifyReply): void => { reply.code(204).header('cache-control', 'no-store').send() }

  // Whether or not the account exists, the answer is 202 with this body, sent
  // before any lookup: the work (and the mail server's latency) comes after.
  app.post<{ Body: { email?: string, username?: string } }>(`${prefix}/password/forgot`, { ...bodyRoute(IDENTIFIER), config: { auth: false } }, async function forgotPassword (request, reply) {
    const id = identifier(request.body)
    await perAddress(request, 'password.reset_requested')
    jobs.run('password_reset', () => api.requestPasswordReset(id, request))
    return accepted(reply)
  })

  app.post<{ Body: { token: string, newPassword: string } }>(`${prefix}/password/reset`, { ...bodyRoute({ token: TOKEN, newPassword: NEW_PASSWORD }), config: { auth: false } }, async function resetPassword (request, reply) {
    const { token, newPassword } = request.body
    await api.resetPassword(token, newPassword, request)
    done(reply)
  })

  app.post<{ Body: { token: string } }>(`${prefix}/email/verify`, { ...bodyRoute({ token: TOKEN }), config: { auth: false } }, async function verifyEmail (request, reply) {
    await api.verifyEmail(request.body.token, request)
    done(reply)
  })

  // Public, like forgot: with requireVerifiedEmail: 'login' an unverified user cannot log in to ask.
  app.post<{ Body: { email?: string, username?: string } }>(`${prefix}/email/verify/resend`, { ...bodyRoute(IDENTIFIER), config: { auth: false } }, async function resendVerification (request, reply) {
    const id = identifier(request.body)
    await perAddress(request, 'email.verification_requested')
    jobs.run('email_verification', async () => await requestVerification(ctx, (await findAccount(ctx, id))?.id ?? null, request))
    return accepted(reply)
  })

  const change = { newEmail: { minLength: 1, maxLength: MAX_EMAIL_LENGTH }, password: NEW_PASSWORD }
  app.post<{ Body: { newEmail: string, password: string } }>(`${prefix}/email/change`, { ...bodyRoute(change), config: { auth: { strategies: ['jwt'] } } }, async function changeEmail (request, reply) {
    const { newEmail, password } = request.body
    const auth = request.auth
    if (auth === null || auth.kind !== 'user') throw new errors.GK_FORBIDDEN()
    if (!isValidEmail(newEmail)) throw new errors.GK_INVALID_REQUEST('newEmail must be an address such as ada@example.org')
    const user = await ctx.users.findById(auth.subject)
    if (user === null || user.disabled) throw new errors.GK_INVALID_CREDENTIALS()
    if (sameEmail(newEmail, user.email)) throw new errors.GK_INVALID_REQUEST('newEmail is the current address')
    await perAddress(request, 'email.change_requested')
    // A changed address takes over password resets: whoever holds only the access token must also know the password.
    // The check is guarded like a login: the brute-force protection counts these guesses with the login's.
    if (await gk.users.verifyPassword(user.id, password, request) === null) {
      gk.record({ type: 'email.change_requested', outcome: 'failure', reason: 'GK_INVALID_CREDENTIALS', userId: user.id }, request)
      throw new errors.GK_INVALID_CREDENTIALS()
    }
    jobs.run('email_change', () => api.requestEmailChange(user.id, newEmail, request))
    return accepted(reply)
  })

  app.post<{ Body: { token: string } }>(`${prefix}/email/revert`, { ...bodyRoute({ token: TOKEN }), config: { auth: false } }, async function revertEmail (request, reply) {
    await api.revertEmail(request.body.token, request)
    done(reply)
  })
}
