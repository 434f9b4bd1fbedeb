/**
 * `fastify-gatekeeper/dpop`: the `dpop` plugin (also the default export),
 * its options and service type, and the helpers of a client or resource
 * server of your own (`ath`, `cnf.jkt`).
 */
import { dpop } from './plugin.js'

export { dpop, type DpopOptions } from './plugin.js'
export { DPOP_ALGORITHMS, type DpopAlgorithm } from './options.js'
export { NONCE_HEADER, type DpopService, type VerifiedProof } from './service.js'
export { PROOF_FAILURES, accessTokenHash, type ProofFailure } from './proof.js'
export { boundKeyOf } from './bound.js'
export default dpop
