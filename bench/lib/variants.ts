/** The server variants and the targets of issue "Benchmarks", in table order. */
import type { RatioTarget } from './stats.js'

/** A server variant: `bench/servers/<name>.ts`. */
export interface Variant {
  name: string
  /** What it measures, for the docs and `--help`. */
  about: string
}

/** Every variant; `bare` is the baseline of every ratio. */
export const VARIANTS: readonly Variant[] = [
  { name: 'bare', about: 'the route, no authentication' },
  { name: 'public', about: 'gatekeeper + jwt registered, the route public (auth: false)' },
  { name: 'fastify-jwt', about: '@fastify/jwt, documented request.jwtVerify() onRequest hook' },
  { name: 'fastify-jwt-cache', about: '@fastify/jwt as above with fast-jwt\'s verification cache on' },
  { name: 'bearer-auth', about: '@fastify/bearer-auth (in-memory key set)' },
  { name: 'jwt-hs256', about: 'gatekeeper + jwt, HS256 access token' },
  { name: 'jwt-dpop', about: 'gatekeeper + jwt (HS256) + dpop, route requiring DPoP, fresh ES256 proof per request' },
  { name: 'jwt-eddsa', about: 'gatekeeper + jwt, EdDSA (Ed25519) access token' },
  { name: 'resource-server', about: 'gatekeeper + resourceServer, ES256 access token of a loopback oidc-provider, keys warm' },
  { name: 'jwt-check-user', about: 'gatekeeper + jwt (HS256) with checkUser, SQLite store, 5 s per-user cache' },
  { name: 'api-key', about: 'gatekeeper + apiKey, SQLite store, warm cache' },
  { name: 'jwt-rbac', about: 'gatekeeper + jwt + rbac, permission check on the route' },
  { name: 'unversioned', about: 'gatekeeper, /api/v1 route without the versioning plugin' },
  { name: 'versioned', about: 'gatekeeper + versioning, same route in deprecated v1' },
  { name: 'full', about: 'the plugin stack of examples/full (SQLite, JWT route)' },
  { name: 'full-redis', about: 'the stack of full with rate limits, counters and revocations in Redis' },
  { name: 'better-auth-session', about: 'better-auth session cookie, cookie cache off (one SQLite read per request)' },
  { name: 'better-auth-cookie-cache', about: 'better-auth session cookie with its signed cookie cache on' },
  { name: 'better-auth-bearer', about: 'better-auth bearer plugin (session token in Authorization)' },
  { name: 'better-auth-api-key', about: 'better-auth API-key plugin (@better-auth/api-key), verifyApiKey()' }
]

/**
 * How a variant's server starts: ours from `bench/servers/<name>.ts` under
 * tsx; the peers' from their own package (`npm ci --prefix bench/peers`) as
 * plain JavaScript, with the variant's credential as argument.
 */
export function variantCommand (name: string): string[] {
  if (name.startsWith('better-auth-')) return ['bench/peers/servers/better-auth.mjs', name.slice('better-auth-'.length)]
  return ['--import', 'tsx', `bench/servers/${name}.ts`]
}

/** The baseline variant. */
export const BASELINE = 'bare'

/**
 * Targets, judged on server CPU per request (the figure that moves least on a
 * shared machine; req/s is reported beside it): `min` is the least ratio of
 * `against`'s CPU per request to `variant`'s.
 */
export const RATIO_TARGETS: readonly RatioTarget[] = [
  { variant: 'jwt-hs256', against: 'bare', min: 0.90, label: 'jwt HS256 / bare', metric: 'cpu' },
  { variant: 'jwt-eddsa', against: 'bare', min: 0.90, label: 'jwt EdDSA / bare', metric: 'cpu' },
  { variant: 'api-key', against: 'bare', min: 0.90, label: 'apiKey / bare', metric: 'cpu' },
  { variant: 'api-key', against: 'bearer-auth', min: 1.0, label: 'apiKey / @fastify/bearer-auth', metric: 'cpu' },
  { variant: 'jwt-rbac', against: 'bare', min: 0.88, label: 'jwt + rbac / bare', metric: 'cpu' },
  { variant: 'jwt-check-user', against: 'bare', min: 0.85, label: 'jwt + checkUser / bare', metric: 'cpu' },
  { variant: 'full', against: 'bare', min: 0.75, label: 'full stack / bare', metric: 'cpu' },
  { variant: 'full-redis', against: 'bare', min: 0.65, label: 'full stack, Redis / bare', metric: 'cpu' },
  { variant: 'public', against: 'bare', min: 0.97, label: 'public route / bare', metric: 'cpu' },
  { variant: 'jwt-hs256', against: 'fastify-jwt', min: 1.6, label: 'jwt HS256 / @fastify/jwt hook' },
  { variant: 'jwt-hs256', against: 'fastify-jwt-cache', min: 1.0, label: 'jwt HS256 / @fastify/jwt, verify cache on', metric: 'cpu' },
  { variant: 'versioned', against: 'unversioned', min: 0.95, label: 'versioned / unversioned' },
  // An external ES256 token, once verified, costs what our own HS256 token costs.
  { variant: 'resource-server', against: 'jwt-hs256', min: 0.95, label: 'resource-server / jwt HS256', metric: 'cpu' },
  // The peer users pick instead, credential for credential.
  { variant: 'jwt-hs256', against: 'better-auth-cookie-cache', min: 1.0, label: 'jwt HS256 / better-auth cookie cache', metric: 'cpu' },
  { variant: 'jwt-check-user', against: 'better-auth-session', min: 1.0, label: 'jwt + checkUser / better-auth session', metric: 'cpu' },
  { variant: 'jwt-hs256', against: 'better-auth-bearer', min: 1.0, label: 'jwt HS256 / better-auth bearer', metric: 'cpu' },
  { variant: 'api-key', against: 'better-auth-api-key', min: 1.0, label: 'apiKey / better-auth API key', metric: 'cpu' }
]

/** Login storm: the JWT route's p99 under the storm (ms) must stay below this. */
export const STORM_P99_MAX_MS = 50
/** Login storm: the JWT route's throughput under the storm must stay above this share of its unloaded value. */
export const STORM_RPS_MIN_SHARE = 0.5
/** Refresh rotations per second on SQLite. */
export const SQLITE_ROTATIONS_MIN = 1000
/** RSS growth over 1,000,000 requests, MB. */
export const MEMORY_GROWTH_MAX_MB = 30
