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
  { name: 'fastify-jwt', about: '@fastify/jwt, documented request.jwtVerify() onRequest hook' },
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
  { name: 'full', about: 'the plugin stack of examples/full (SQLite, JWT route)' }
]

/** The baseline variant. */
export const BASELINE = 'bare'

/** Throughput targets (median req/s ratios within one run). */
export const RATIO_TARGETS: readonly RatioTarget[] = [
  { variant: 'jwt-hs256', against: 'bare', min: 0.80, label: 'jwt HS256 / bare' },
  { variant: 'jwt-hs256', against: 'fastify-jwt', min: 1.6, label: 'jwt HS256 / @fastify/jwt hook' },
  { variant: 'api-key', against: 'bare', min: 0.85, label: 'apiKey / bare' },
  { variant: 'api-key', against: 'bearer-auth', min: 0.95, label: 'apiKey / @fastify/bearer-auth' },
  { variant: 'jwt-rbac', against: 'bare', min: 0.75, label: 'jwt + rbac / bare' },
  { variant: 'versioned', against: 'unversioned', min: 0.95, label: 'versioned / unversioned' },
  // An external ES256 token, once verified, costs what our own HS256 token costs: judged on server CPU per request.
  { variant: 'resource-server', against: 'jwt-hs256', min: 0.95, label: 'resource-server / jwt HS256 (CPU per request)', metric: 'cpu' }
]

/** Login storm: the JWT route's p99 under the storm (ms) must stay below this. */
export const STORM_P99_MAX_MS = 50
/** Login storm: the JWT route's throughput under the storm must stay above this share of its unloaded value. */
export const STORM_RPS_MIN_SHARE = 0.5
/** Refresh rotations per second on SQLite. */
export const SQLITE_ROTATIONS_MIN = 1000
/** RSS growth over 1,000,000 requests, MB. */
export const MEMORY_GROWTH_MAX_MB = 30
