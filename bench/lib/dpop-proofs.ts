/** DPoP proofs made by the load driver, one per request, as a client makes them (RFC 9449 §4.2). */
import { createHash, createPrivateKey, randomUUID, sign, type JsonWebKey } from 'node:crypto'

/** What a DPoP variant announces: the client's key pair as JWKs, its bound token and the `htu` of the route. */
export interface DpopFixture {
  privateJwk: JsonWebKey
  publicJwk: JsonWebKey
  accessToken: string
  htu: string
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/** A function returning the headers of one request: the token and a fresh ES256 proof (about 50 µs of driver CPU). */
export function dpopHeaders (f: DpopFixture): () => Record<string, string> {
  const key = createPrivateKey({ key: f.privateJwk, format: 'jwk' })
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: f.publicJwk })
  const ath = createHash('sha256').update(f.accessToken).digest('base64url')
  const authorization = `DPoP ${f.accessToken}`
  return () => {
    const input = `${header}.${b64({ htm: 'GET', htu: f.htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath })}`
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
    return { authorization, dpop: `${input}.${signature}` }
  }
}
