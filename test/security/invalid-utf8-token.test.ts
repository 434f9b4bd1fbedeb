import t from 'tap'
import { auditSweep, b64raw, bearer, claims, HS_HEADER, keyPair, remember, runRows, SECRET, securityApp, signInput, type Row } from './helpers.js'

// The attack: a token correctly signed with the real key whose header or a
// claim holds bytes that are not UTF-8 (FF, FE, an overlong form, a UTF-16
// surrogate). A lenient decoder turns them into U+FFFD and the token was
// accepted: different bytes, the same claims. RFC 7519 §7.2 steps 4 and 10
// ask for UTF-8-encoded JSON; such tokens are refused.

const BAD: Array<[string, number[]]> = [
  ['FF FE', [0xff, 0xfe]],
  ['a truncated sequence (C3 at the end of a string)', [0xc3]],
  ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
  ['a UTF-16 surrogate encoded as UTF-8 (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]]
]

/** JSON text of `json` whose string `member` (set or replaced) has `bytes` spliced into it. */
function withBytes (json: Record<string, unknown>, member: string, bytes: number[]): Buffer {
  const [before, after] = JSON.stringify({ ...json, [member]: 'x<bytes>y' }).split('<bytes>') as [string, string]
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)])
}

/** A compact JWS of raw header and payload bytes, signed with `key` for `alg`. */
function signed (alg: string, header: Buffer | string, payload: Buffer | string, key: Parameters<typeof signInput>[2]): string {
  const input = `${b64raw(header)}.${b64raw(payload)}`
  return remember(`${input}.${signInput(alg, input, key)}`)
}

const refused = (name: string, token: () => string): Row => ({ name, cite: 'RFC 7519 §7.2 steps 4 and 10 (UTF-8-encoded JSON)', req: () => ({ url: '/me', headers: bearer(token()) }), status: 401, code: 'GK_TOKEN_INVALID', challenge: 'invalid_token' })

t.test('HS256: correctly signed tokens with invalid UTF-8 in the header or a claim are refused (table)', async (t) => {
  const { app, clock } = await securityApp()
  t.teardown(() => app.close())
  const header = JSON.stringify(HS_HEADER)
  const rows: Row[] = []
  for (const [name, bytes] of BAD) {
    rows.push(refused(`${name} in a custom claim`, () => signed('HS256', header, withBytes(claims(clock), 'name', bytes), SECRET)))
    rows.push(refused(`${name} in the header`, () => signed('HS256', withBytes({ ...HS_HEADER }, 'note', bytes), JSON.stringify(claims(clock)), SECRET)))
  }
  rows.push(refused('FF FE inside sub, the claim that names the caller', () => signed('HS256', header, withBytes(claims(clock), 'sub', [0xff, 0xfe]), SECRET)))
  rows.push({ name: 'control: the same token with valid UTF-8 (Zoë 🚀) in a claim', cite: 'RFC 7519 §7.2', req: () => ({ url: '/me', headers: bearer(signed('HS256', header, JSON.stringify(claims(clock, { name: 'Zoë 🚀' })), SECRET)) }), status: 200 })
  await runRows(t, app, rows)
})

t.test('EdDSA: the same with a token signed by the real private key', async (t) => {
  const { privateKey, publicKey } = keyPair('EdDSA')
  const { app, clock } = await securityApp({ jwt: { keys: [{ kid: 'k1', algorithm: 'EdDSA', privateKey, publicKey }] } })
  t.teardown(() => app.close())
  const h = { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }
  await runRows(t, app, [
    refused('FF FE in a claim', () => signed('EdDSA', JSON.stringify(h), withBytes(claims(clock), 'name', [0xff, 0xfe]), privateKey)),
    refused('FF FE in the header', () => signed('EdDSA', withBytes(h, 'note', [0xff, 0xfe]), JSON.stringify(claims(clock)), privateKey)),
    { name: 'control: valid UTF-8', cite: 'RFC 7519 §7.2', req: () => ({ url: '/me', headers: bearer(signed('EdDSA', JSON.stringify(h), JSON.stringify(claims(clock, { name: 'Zoë' })), privateKey)) }), status: 200 }
  ])
})

auditSweep(t)
