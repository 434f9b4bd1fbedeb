import t from 'tap'
import { auditSweep, b64raw, bearer, claims, createUser, forge, hs256, HS_HEADER, login, runRows, SECRET, securityApp, type Row } from './helpers.js'

const { app, clock } = await securityApp()
t.teardown(() => app.close())
await createUser(app, 'alice')
const genuine = (await login(app, 'alice')).body.accessToken as string
const [gh, gp, gs] = genuine.split('.') as [string, string, string]

/** A token whose header and payload are raw text (not necessarily JSON), HS256-signed with our secret. */
function signedRaw (header: string | Buffer, payload: string | Buffer): string {
  const input = `${b64raw(header)}.${b64raw(payload)}`
  return `${input}.${hs256(input, SECRET)}`
}

const validClaims = (): Record<string, unknown> => claims(clock)
const header = JSON.stringify(HS_HEADER)

/** 401 GK_TOKEN_INVALID with the invalid_token challenge: the answer to every broken token. */
function refused (name: string, cite: string, token: () => string): Row {
  return { name, cite, req: () => ({ url: '/me', headers: bearer(token()) }), status: 401, code: 'GK_TOKEN_INVALID', challenge: 'invalid_token' }
}

t.test('tokens that are not a well-formed JWS are refused with one answer (table)', async (t) => {
  const rows: Row[] = [
    refused('two segments', 'RFC 7515 §7.1 (three parts)', () => `${gh}.${gp}`),
    refused('four segments', 'RFC 7515 §7.1', () => `${genuine}.${gs}`),
    refused('five segments: a compact JWE where a JWS is expected', 'RFC 7516 §7.1, RFC 8725 §2.7', () => `${b64raw(JSON.stringify({ alg: 'RSA-OAEP', enc: 'A256GCM', typ: 'at+jwt' }))}.${gs}.${gs.slice(0, 16)}.${gp}.${gs.slice(0, 22)}`),
    refused('a JWE header in three segments', 'RFC 8725 §2.7 (JWS/JWE confusion)', () => forge({ alg: 'dir', enc: 'A256GCM', typ: 'at+jwt' }, validClaims())),
    refused('an empty header segment', 'RFC 7515 §5.2', () => `.${gp}.${gs}`),
    refused('an empty payload segment', 'RFC 7515 §5.2', () => `${gh}..${gs}`),
    refused('only dots', 'RFC 7515 §5.2', () => '..'),
    refused('"+" and "/" (base64, not base64url) in the signature', 'RFC 7515 §2 base64url', () => `${gh}.${gp}.${gs.slice(0, -4)}+/+/`),
    refused('"~" in the payload', 'RFC 7515 §2 base64url', () => `${gh}.${gp}~.${gs}`),
    refused('"=" padding after the signature', 'RFC 7515 §2 (no padding), token malleability', () => `${genuine}=`),
    refused('"==" padding after the signature', 'RFC 7515 §2 (no padding), token malleability', () => `${genuine}==`),
    refused('a header that is not JSON', 'RFC 7515 §5.2 step 3', () => signedRaw('not json', JSON.stringify(validClaims()))),
    refused('a header that is a JSON array', 'RFC 7515 §5.2 step 4', () => signedRaw('["HS256"]', JSON.stringify(validClaims()))),
    refused('a header that is a JSON string', 'RFC 7515 §5.2 step 4', () => signedRaw('"HS256"', JSON.stringify(validClaims()))),
    refused('a validly signed payload that is not JSON', 'RFC 7519 §7.2 step 10', () => signedRaw(header, 'sub=admin')),
    refused('a validly signed payload []', 'RFC 7519 §7.2 step 10 (a JSON object)', () => signedRaw(header, '[]')),
    refused('a validly signed payload 0', 'RFC 7519 §7.2 step 10', () => signedRaw(header, '0')),
    refused('a validly signed payload null', 'RFC 7519 §7.2 step 10', () => signedRaw(header, 'null')),
    refused('a validly signed payload ""', 'RFC 7519 §7.2 step 10', () => signedRaw(header, '""')),
    refused('a validly signed payload true', 'RFC 7519 §7.2 step 10', () => signedRaw(header, 'true')),
    refused('a validly signed empty payload', 'RFC 7519 §7.2 step 10', () => signedRaw(header, '')),
    // Complete claims and a complete header, so the bytes are the only fault (invalid-utf8-token.test.ts has more).
    refused('a validly signed payload of invalid UTF-8', 'RFC 7519 §7.2 step 10 (UTF-8)', () => signedRaw(header, Buffer.concat([Buffer.from(JSON.stringify(validClaims()).slice(0, -1) + ',"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]))),
    refused('a header of invalid UTF-8', 'RFC 7519 §7.2 step 4', () => signedRaw(Buffer.concat([Buffer.from(header.slice(0, -1) + ',"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), JSON.stringify(validClaims()))),
    refused('a payload with a JSON comment', 'RFC 8259 (strict JSON)', () => signedRaw(header, JSON.stringify(validClaims()).replace('{', '{/*x*/'))),
    { ...refused('a payload claiming admin in a duplicate "roles" key', 'RFC 7519 §4 / RFC 7515 §5.2 duplicate members, parser differential', () => signedRaw(header, JSON.stringify(validClaims()).replace('{', '{"roles":["user"],').replace('"roles":["user"],"iss"', '"roles":["admin"],"iss"'))) },
    { ...refused('a payload with a duplicate "sub" key', 'RFC 7519 §4 duplicate members', () => signedRaw(header, JSON.stringify(validClaims()).replace('{', '{"sub":"someone-else",'))) },
    { ...refused('a header with a duplicate "alg" key (none first)', 'RFC 7515 §5.2 duplicate members', () => signedRaw('{"alg":"none","typ":"at+jwt","alg":"HS256"}', JSON.stringify(validClaims()))) },
    refused('a token of 8193 characters', 'RFC 8725 §3.10 (bounded input)', () => `${gh}.${'A'.repeat(8193 - gh.length - gs.length - 2)}.${gs}`),
    refused('a payload nested 2000 arrays deep', 'ASVS 13.1 (parser abuse)', () => signedRaw(header, '['.repeat(2000) + ']'.repeat(2000))),
    { name: 'padding inside the token', cite: 'RFC 6750 §2.1 b64token ("=" only at the end), RFC 7515 §2', req: { url: '/me', headers: bearer(`${gh}==.${gp}.${gs}`) }, status: 400, code: 'GK_INVALID_REQUEST', challenge: 'invalid_request' },
    { name: 'control: the genuine token', cite: 'RFC 7519 §7.2', req: { url: '/me', headers: bearer(genuine) }, status: 200 }
  ]
  await runRows(t, app, rows)
})

auditSweep(t)
