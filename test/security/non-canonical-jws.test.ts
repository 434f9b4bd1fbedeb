import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'

// RFC 7515 §2 / RFC 4648 §3.5: a JWS segment is canonical unpadded base64url. A decoder
// ignores the unused low bits of a segment's last character, so a token whose last
// character was bent (or padded) decoded to the same bytes and verified: one token, many
// spellings (found by the resourceServer fuzz target; the ES256 and EdDSA tokens of the
// jwt plugin were accepted that way too). Every spelling but the issued one is refused.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The token with the last character of segment `index` given a set unused bit, or `null` when that segment has no unused bits. */
function bend (token: string, index: number): string | null {
  const parts = token.split('.')
  const part = parts[index] as string
  const rest = part.length % 4
  if (rest === 0) return null
  const last = ALPHABET.indexOf(part.at(-1) as string)
  parts[index] = part.slice(0, -1) + (ALPHABET[last | 0x01] as string)
  return parts.join('.')
}

const KEYS = {
  HS256: () => ({ secret: 'a-secret-of-at-least-32-bytes-long!!' }),
  ES256: () => { const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }); return { keys: [{ kid: 'k', algorithm: 'ES256' as const, privateKey, publicKey }] } },
  EdDSA: () => { const { privateKey, publicKey } = generateKeyPairSync('ed25519'); return { keys: [{ kid: 'k', algorithm: 'EdDSA' as const, privateKey, publicKey }] } }
}

for (const [algorithm, keys] of Object.entries(KEYS)) {
  t.test(`jwt ${algorithm}: a bent or padded spelling of a valid token is refused; the issued one passes`, async (t) => {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await app.register(jwt, { ...keys(), issuer: 'https://api.test', audience: 'api' })
    app.get('/me', async (request) => request.auth?.subject)
    t.teardown(() => app.close())
    await app.ready()
    const user = await app.gatekeeper.users.create({ username: 'ada', password: 'ada-password-12345', roles: [] })
    const { accessToken } = await app.gatekeeper.tokens.issue(user)
    const spellings = [0, 1, 2].map((i) => bend(accessToken, i)).filter((s): s is string => s !== null)
    spellings.push(`${accessToken}=`)
    t.ok(spellings.length >= 2)
    for (const s of spellings) {
      const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${s}` } })
      t.equal(res.statusCode, 401, s.slice(-12))
      t.equal(res.json().code, 'GK_TOKEN_INVALID')
    }
    t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode, 200)
  })
}
