import type { ResolvedKey } from './keys.js'

/** One public key of the JWK Set (RFC 7517 §4). */
export interface PublicJwk {
  kty: string
  kid: string
  alg: string
  use: 'sig'
  crv?: string
  x?: string
  y?: string
  n?: string
  e?: string
}

/**
 * The JWK Set of the verification keys (RFC 7517 §5): public parts only,
 * each with its `kid`, `alg` and `use: 'sig'`. HMAC secrets are never listed.
 */
export function toJwks (keys: readonly ResolvedKey[]): { keys: PublicJwk[] } {
  const out: PublicJwk[] = []
  for (const key of keys) {
    if (key.kid === null || key.verifyKey.type !== 'public') continue
    const jwk = key.verifyKey.export({ format: 'jwk' }) as Record<string, string>
    const pub: PublicJwk = { kty: jwk.kty, kid: key.kid, alg: key.algorithm, use: 'sig' }
    // Copy only public members by name, so a private `d` can never slip through.
    for (const name of ['crv', 'x', 'y', 'n', 'e'] as const) if (jwk[name] !== undefined) pub[name] = jwk[name]
    out.push(pub)
  }
  return { keys: out }
}
