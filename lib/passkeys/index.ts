/**
 * `fastify-gatekeeper/passkeys`: the `passkeys` plugin (WebAuthn
 * registration, usernameless sign-in, passkeys as a second factor) over
 * @simplewebauthn/server.
 */
import { passkeys } from './plugin.js'

export { passkeys, type PasskeysOptions } from './plugin.js'
export { PASSKEY_AMR, type PasskeysApi, type PasskeyView } from './context.js'
export { PASSKEY_FACTOR_AMR } from './factor.js'
export default passkeys
