/**
 * The core's internals, behind symbols (as Fastify's lib/symbols.js): the
 * package root exports none of them, so they are not part of the public
 * `Gatekeeper` type users see, and one definition serves every module.
 */

/** A route's entry (method, url, `config.auth`, compiled policy), kept in its Fastify config. */
export const kRoute = Symbol.for('fastify-gatekeeper.route')
/**
 * A `GK_` error may carry, under this symbol, the auth-scheme its challenge
 * must name: a Bearer-presented DPoP-bound token is refused with the `DPoP`
 * challenge (RFC 9449 §7.1).
 */
export const kChallenge = Symbol.for('fastify-gatekeeper.challenge')

// Methods of Gatekeeper the core plugin calls.
export const kAddRoute = Symbol('gatekeeper.addRoute')
export const kCompileAll = Symbol('gatekeeper.compileAll')
export const kSetEarlyRoutes = Symbol('gatekeeper.setEarlyRoutes')
export const kEarlyRoutes = Symbol('gatekeeper.earlyRoutes')
export const kLazyPolicy = Symbol('gatekeeper.lazyPolicy')
export const kIsPublicPath = Symbol('gatekeeper.isPublicPath')
export const kResolveStrategies = Symbol('gatekeeper.resolveStrategies')
export const kRunAuthentication = Symbol('gatekeeper.runAuthentication')
export const kRunAuthorization = Symbol('gatekeeper.runAuthorization')
/** The services plugins provide (`app.gatekeeper.jwt`, …), by name. */
export const kServices = Symbol('gatekeeper.services')
