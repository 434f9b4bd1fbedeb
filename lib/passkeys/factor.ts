import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { errors } from '../core/errors.js'
import { fieldOf, isRecord } from '../core/json.js'
import type { SecondFactor } from '../mfa/types.js'
import { CeremonyFailure } from './ceremonies.js'
import type { PasskeysContext } from './context.js'
import { view } from './context.js'

/** RFC 8176 methods a passkey proves as a second factor: a hardware-held key and the user's presence (the `mfa` plugin adds `pwd` and `mfa`). */
export const PASSKEY_FACTOR_AMR = Object.freeze(['hwk', 'user'])

/** The binding of second-factor ceremonies: the pending login holds the handle, so nothing else can use it. */
const MFA_BINDING = 'mfa'

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/

function b64 (value: unknown, max = 16_384): boolean {
  return typeof value === 'string' && value.length > 0 && value.length <= max && B64URL.test(value)
}

/** Checks the shape of an assertion (`startAuthentication`'s result) before anything is verified. */
export function isAssertion (value: unknown): value is AuthenticationResponseJSON {
  if (!isRecord(value)) return false
  const v = value
  const r = v.response
  return b64(v.id, 1024) && b64(v.rawId, 1024) && v.type === 'public-key' && isRecord(r) &&
    b64(r.clientDataJSON) && b64(r.authenticatorData) && b64(r.signature) && (r.userHandle === undefined || b64(r.userHandle, 128))
}

/**
 * The `webauthn` second factor for the `mfa` plugin's two-step login: the
 * `mfa_required` answer carries `webauthn` request options listing the
 * user's passkeys; `POST /api/login/mfa { challenge, webauthn: <assertion> }`
 * completes it. The WebAuthn challenge is single use on its own: a refused
 * assertion spends it (the user signs in again), and a replayed one is
 * refused before its counter is looked at, so a double submit is never
 * mistaken for a cloned key.
 */
export function webauthnFactor (ctx: PasskeysContext): SecondFactor {
  const { port, ceremonies, gk } = ctx
  return {
    name: 'webauthn',
    field: 'webauthn',
    // The assertion is a JSON object (startAuthentication's result), not a code.
    answer: 'object',
    primary: true,
    enrolled: async (userId) => (await port.credentials.listByUser(userId)).length > 0,
    async begin (user) {
      const started = await ceremonies.authenticationOptions(MFA_BINDING, user.id)
      // The handle stays on the server, in the pending login; the client gets only the options.
      return { response: { webauthn: started.options }, data: { handle: started.challenge } }
    },
    async verify (user, answer, context) {
      if (!isAssertion(answer)) throw new errors.GK_INVALID_REQUEST('webauthn must be the assertion from navigator.credentials.get()')
      const handle = fieldOf(context.challenge.data.webauthn, 'handle')
      if (typeof handle !== 'string') return null
      try {
        await ceremonies.authenticate(handle, MFA_BINDING, answer, user.id)
        return { amr: [...PASSKEY_FACTOR_AMR] }
      } catch (err) {
        if (!(err instanceof CeremonyFailure)) throw err
        ctx.refused(context.request, 'mfa', err)
        return null
      }
    },
    describe: async (userId) => (await port.credentials.listByUser(userId)).map(view),
    async reset (userId) {
      const n = await port.credentials.deleteForUser(userId)
      if (n > 0) gk.record({ type: 'passkey.removed', outcome: 'success', userId, count: n, reason: 'reset' })
      return n
    }
  }
}
