/**
 * `fastify-gatekeeper/dpop`: the `dpop` plugin (also the default export),
 * its options and service, and the proof checker for tests of your own.
 */
import { dpop } from './plugin.js'

export { dpop, type DpopOptions } from './plugin.js'
export { DPOP_ALGORITHMS, type DpopAlgorithm } from './options.js'
export { DpopService, NONCE_HEADER, type VerifiedProof } from './service.js'
export { PROOF_FAILURES, accessTokenHash, type ProofFailure } from './proof.js'
export { boundKeyOf } from './bound.js'
export default dpop
