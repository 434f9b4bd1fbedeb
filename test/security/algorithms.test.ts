import { createServer } from 'node:http'
import net from 'node:net'
import type { KeyObject } from 'node:crypto'
import t from 'tap'
import {
  auditSweep, b64raw, bearer, claims, forge, hs256, HS_HEADER, keyPair, remember, runRows, securityApp, signInput, type Clock, type Row
} from './helpers.js'

// Every outbound connection attempt in this process is counted: a verifier that
// fetched a jku/x5u key (or anything else) would open a socket (RFC 8725 §3.10, SSRF).
let outbound = 0
const originalConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  outbound++
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args)
} as typeof net.Socket.prototype.connect
t.teardown(() => { net.Socket.prototype.connect = originalConnect })

// A key server the attacker controls: any request to it is a hit.
const attacker = keyPair('RS256')
let hits = 0
const keyServer = createServer((_req, res) => {
  hits++
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ keys: [{ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }))
})
await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve))
const keyUrl = `http://127.0.0.1:${(keyServer.address() as net.AddressInfo).port}/jwks.json`
t.teardown(() => new Promise<void>((resolve) => { keyServer.closeAllConnections(); keyServer.close(() => resolve()) }))

const jwkOf = (k: KeyObject): Record<string, unknown> => k.export({ format: 'jwk' }) as Record<string, unknown>
const none = (clock: Clock, header: Record<string, unknown>, sig = ''): string => `${b64raw(JSON.stringify(header))}.${b64raw(JSON.stringify(claims(clock)))}.${sig}`

/** 401 GK_TOKEN_INVALID with the invalid_token challenge. */
function refused (name: string, cite: string, token: () => string): Row {
  return { name, cite, req: () => ({ url: '/me', headers: bearer(token()) }), status: 401, code: 'GK_TOKEN_INVALID', challenge: 'invalid_token' }
}

/** Rows every verifier must refuse, whatever its key: `alg` tricks and key injection. */
function commonRows (clock: Clock, header: Record<string, unknown>, sign: (h: Record<string, unknown>, p: unknown) => string): Row[] {
  const genuine = (): string => sign(header, claims(clock))
  const kid = header.kid === undefined ? {} : { kid: header.kid }
  const rows: Row[] = []
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    rows.push(refused(`alg "${alg}" without a signature`, 'RFC 8725 §2.1, §3.1; jwt_tool -X a; PortSwigger JWT lab 2', () => none(clock, { ...header, alg })))
    rows.push(refused(`alg "${alg}" keeping the genuine signature`, 'RFC 8725 §3.1; jwt_tool -X a', () => none(clock, { ...header, alg }, genuine().split('.')[2])))
  }
  rows.push(
    refused('no alg at all', 'RFC 7515 §4.1.1 (alg is required)', () => none(clock, { typ: 'at+jwt', ...kid }, genuine().split('.')[2])),
    refused('alg as an array', 'RFC 7515 §4.1.1', () => none(clock, { ...header, alg: [header.alg] }, genuine().split('.')[2])),
    refused('the signature stripped', 'RFC 7515 §5.2; jwt_tool (signature not checked)', () => genuine().replace(/\.[^.]+$/, '.')),
    refused('the signature truncated by one character', 'RFC 7515 §5.2', () => genuine().slice(0, -1)),
    refused('the signature truncated to half', 'RFC 7515 §5.2', () => { const g = genuine(); return g.slice(0, g.length - Math.floor(g.split('.')[2]!.length / 2)) }),
    refused('roles tampered to admin, genuine signature kept', 'jwt_tool -T; PortSwigger JWT lab 1 (unverified signature)', () => { const [h, , s] = genuine().split('.'); return `${h}.${b64raw(JSON.stringify(claims(clock, { roles: ['admin'] })))}.${s}` }),
    refused('sub tampered, genuine signature kept', 'PortSwigger JWT lab 1', () => { const [h, , s] = genuine().split('.'); return `${h}.${b64raw(JSON.stringify(claims(clock, { sub: 'admin' })))}.${s}` }),
    refused('exp extended, genuine signature kept', 'RFC 7515 §5.2', () => { const [h, , s] = genuine().split('.'); return `${h}.${b64raw(JSON.stringify(claims(clock, { exp: 4102444800 })))}.${s}` }),
    refused('the signature of another token pasted on', 'signature splicing', () => { const a = genuine().split('.'); const b = sign(header, claims(clock, { sub: 'other' })).split('.'); return `${a[0]}.${a[1]}.${b[2]}` }),
    refused('an embedded jwk header with the attacker\'s key, signed with it', 'RFC 8725 §3.10; jwt_tool -X i; PortSwigger JWT lab 3 (jwk injection); CVE-2018-0114', () => forge({ alg: 'RS256', typ: 'at+jwt', ...kid, jwk: { ...jwkOf(attacker.publicKey), kid: 'k1' } }, claims(clock, { roles: ['admin'] }), attacker.privateKey)),
    refused('a jku header pointing at the attacker\'s JWKS', 'RFC 8725 §3.10; jwt_tool -X s; PortSwigger JWT lab 4 (jku injection)', () => forge({ alg: 'RS256', typ: 'at+jwt', ...kid, jku: keyUrl }, claims(clock, { roles: ['admin'] }), attacker.privateKey)),
    refused('an x5u header pointing at the attacker\'s server', 'RFC 7515 §4.1.5; RFC 8725 §3.10 (SSRF)', () => forge({ alg: 'RS256', typ: 'at+jwt', ...kid, x5u: keyUrl }, claims(clock), attacker.privateKey)),
    refused('an x5c header with an attacker chain', 'RFC 7515 §4.1.6', () => forge({ ...header, x5c: ['MIIBkTCB+wIJAKHHCgVZU65BMA0GCSqGSIb3DQEBBQUA'] }, claims(clock), attacker.privateKey)),
    refused('a crit header demanding unknown processing', 'RFC 7515 §4.1.11', () => sign({ ...header, crit: ['exp'] }, claims(clock))),
    refused('a cty header announcing a nested JWT', 'RFC 8725 §2.8 / §3.11', () => sign({ ...header, cty: 'JWT' }, claims(clock))),
    refused('a zip header (compressed payload)', 'RFC 8725 §3.6', () => sign({ ...header, zip: 'DEF' }, claims(clock)))
  )
  for (const alg of ['HS384', 'HS512', 'PS256', 'ES384', 'ES512', 'RS512', 'Ed25519']) {
    rows.push(refused(`alg ${alg}, outside the pinned list`, 'RFC 8725 §3.1 (one algorithm per key)', () => none(clock, { ...header, alg }, genuine().split('.')[2])))
  }
  rows.push({ name: 'control: a genuine token', cite: 'RFC 7515 §5.2', req: () => ({ url: '/me', headers: bearer(genuine()) }), status: 200 })
  return rows
}

t.test('HS256 (secret): alg tricks, forged and weak-key signatures are refused (table)', async (t) => {
  const { app, clock } = await securityApp()
  t.teardown(() => app.close())
  const rows = commonRows(clock, { ...HS_HEADER }, (h, p) => forge(h, p))
  // jwt_tool -C -d, PortSwigger JWT lab 3 (brute-forced weak signing key): none of these is our secret.
  const common = ['', '\0', 'secret', 'secret1', 'secret123', 'password', 'your-256-bit-secret', 'your-secret-key', 'changeme', 'jwt', 'jwt-secret',
    'key', 'private', 'public', '123456', 'qwerty', 'admin', 'test', 'default', 'supersecret', 's3cr3t', 'shhhhh', 'mysecretkey', 'secretkey',
    'null', 'undefined', 'api', 'gatekeeper', 'fastify', 'https://issuer.security.test', 'api.security.test', 'HS256', 'at+jwt']
  for (const weak of common) {
    rows.push(refused(`signed with the common secret ${JSON.stringify(weak)}`, 'jwt_tool -C -d; PortSwigger JWT lab 3 (weak signing key); RFC 7518 §3.2', () => forge(HS_HEADER, claims(clock, { roles: ['admin'] }), weak)))
  }
  const before = outbound
  const hitsBefore = hits
  await runRows(t, app, rows)
  t.equal(outbound - before, 0, 'no outbound socket was opened while verifying (jku, x5u, jwk never fetched)')
  t.equal(hits - hitsBefore, 0, 'the attacker\'s key server was never contacted')
})

t.test('kid injection: unknown, path traversal, SQL and shell kids are refused at once (table)', async (t) => {
  const { app, clock } = await securityApp()
  t.teardown(() => app.close())
  const kids: Array<[string, unknown, string]> = [
    ['an unknown kid', 'other-key', 'RFC 7515 §4.1.4'],
    ['a path traversal to /dev/null, signed with an empty key', '../../../../../../../dev/null', 'PortSwigger JWT lab 6 (kid path traversal); jwt_tool -I -hc kid'],
    ['a path traversal with a NUL byte', '../../../../etc/passwd\u0000', 'jwt_tool kid injection'],
    ['an absolute path', '/proc/self/environ', 'kid path traversal'],
    ['an SQL injection selecting a known key', "x' UNION SELECT 'attacker-key' -- ", 'jwt_tool kid SQLi; ASVS 5.3.4'],
    ['an SQL injection with a time delay', "k1'; SELECT pg_sleep(3); --", 'blind SQLi via kid'],
    ['a shell injection with sleep', 'k1|sleep 3', 'jwt_tool kid command injection; ASVS 5.3.8'],
    ['a shell substitution', '$(sleep 3)', 'kid command injection'],
    ['backticks', '`sleep 3`', 'kid command injection'],
    ['a URL', keyUrl, 'kid as a key location (SSRF)'],
    ['a number', 1, 'RFC 7515 §4.1.4 (kid is a string)'],
    ['an object', { $ne: null }, 'NoSQL operator injection'],
    ['an empty string', '', 'RFC 7515 §4.1.4']
  ]
  const rows: Row[] = []
  for (const [name, kid, cite] of kids) {
    for (const [keyName, key] of [['an empty key', ''], ['the attacker key', 'attacker-key'], ['our own secret', undefined]] as const) {
      rows.push(refused(`kid: ${name}, signed with ${keyName}`, cite, () => forge({ ...HS_HEADER, kid }, claims(clock, { roles: ['admin'] }), key)))
    }
  }
  const before = outbound
  const started = performance.now()
  await runRows(t, app, rows)
  const ms = performance.now() - started
  // Generous: a sleep(3) that ran anywhere would take three seconds per row.
  t.ok(ms < 3000, `${rows.length} kid rows answered in ${ms.toFixed(0)} ms: no injected delay ran`)
  t.equal(outbound - before, 0, 'no outbound socket was opened')
})

for (const alg of ['RS256', 'EdDSA', 'ES256'] as const) {
  t.test(`${alg} keys: HS256 signed with the public key (key confusion) and forged signatures are refused (table)`, async (t) => {
    const pair = keyPair(alg)
    const { app, clock } = await securityApp({ jwt: { keys: [{ kid: 'k1', algorithm: alg, privateKey: pair.privateKey, publicKey: pair.publicKey }] } })
    t.teardown(() => app.close())
    const header = { alg, typ: 'at+jwt', kid: 'k1' }
    const rows = commonRows(clock, header, (h, p) => forge(h, p, pair.privateKey))

    // The key forms an attacker can get hold of: the JWKS, the PEM a deployment ships.
    const pem = pair.publicKey.export({ format: 'pem', type: 'spki' }) as string
    const served = JSON.parse((await app.inject({ url: '/.well-known/jwks.json' })).body).keys[0]
    const forms: Array<[string, string | Buffer]> = [
      ['the SPKI PEM', pem],
      ['the PEM without its final newline', pem.trimEnd()],
      ['the PEM with CRLF line ends', pem.replace(/\n/g, '\r\n')],
      ['the PEM prefixed with whitespace', ` \n\t${pem}`],
      ['the PEM prefixed with junk', `junk${pem}`],
      ['the PEM body without armour', pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')],
      ['the DER bytes', pair.publicKey.export({ format: 'der', type: 'spki' })],
      ['the JWK JSON', JSON.stringify(jwkOf(pair.publicKey))],
      ['the JWK as served by /.well-known/jwks.json', JSON.stringify(served)],
      ['the JWK Set JSON', (await app.inject({ url: '/.well-known/jwks.json' })).body]
    ]
    if (alg === 'RS256') forms.push(['the PKCS#1 PEM', pair.publicKey.export({ format: 'pem', type: 'pkcs1' }) as string])
    if (alg === 'EdDSA') forms.push(['the raw 32-byte Ed25519 key', Buffer.from(jwkOf(pair.publicKey).x as string, 'base64url')])
    for (const [form, key] of forms) {
      for (const withKid of [true, false]) {
        rows.push(refused(`HS256 signed with ${form}${withKid ? ', kid k1' : ', no kid'}`, 'RFC 8725 §2.1/§3.1 key confusion; jwt_tool -X k; PortSwigger JWT labs 7-8 (algorithm confusion); CVE-2015-9235',
          () => forge({ alg: 'HS256', typ: 'at+jwt', ...(withKid ? { kid: 'k1' } : {}) }, claims(clock, { roles: ['admin'] }), key)))
      }
    }
    rows.push(refused('signed by another key pair of the same algorithm under our kid', 'RFC 7515 §5.2', () => forge(header, claims(clock), keyPair(alg).privateKey)))
    if (alg === 'ES256') {
      const n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex')
      const zero = Buffer.alloc(32)
      const psychic: Array<[string, string]> = [
        ['r = s = 0 (IEEE P1363)', Buffer.concat([zero, zero]).toString('base64url')],
        ['r = s = 0 (DER)', 'MAYCAQACAQA'],
        ['r = s = n, the curve order', Buffer.concat([n, n]).toString('base64url')],
        ['r = 0, s = n', Buffer.concat([zero, n]).toString('base64url')],
        ['r = n, s = 0', Buffer.concat([n, zero]).toString('base64url')]
      ]
      for (const [what, sig] of psychic) {
        rows.push(refused(`psychic signature: ${what}`, 'CVE-2022-21449 (psychic signatures); jwt_tool -X p', () => `${b64raw(JSON.stringify(header))}.${b64raw(JSON.stringify(claims(clock, { roles: ['admin'] })))}.${sig}`))
      }
    }
    if (alg === 'EdDSA') rows.push(refused('an all-zero Ed25519 signature', 'RFC 8032 §5.1.7', () => `${b64raw(JSON.stringify(header))}.${b64raw(JSON.stringify(claims(clock)))}.${Buffer.alloc(64).toString('base64url')}`))
    if (alg === 'RS256') rows.push(refused('an RSA signature of 1', 'RSA signature forgery (s = 1)', () => `${b64raw(JSON.stringify(header))}.${b64raw(JSON.stringify(claims(clock)))}.${Buffer.concat([Buffer.alloc(255), Buffer.from([1])]).toString('base64url')}`))
    // Another asymmetric alg under our kid: the alg must be the key's, never the token's.
    for (const other of (['RS256', 'EdDSA', 'ES256'] as const).filter((a) => a !== alg)) {
      rows.push(refused(`alg ${other} under our ${alg} kid, signed with an attacker ${other} key`, 'RFC 8725 §3.1', () => forge({ alg: other, typ: 'at+jwt', kid: 'k1' }, claims(clock), keyPair(other).privateKey)))
    }
    const before = outbound
    const hitsBefore = hits
    await runRows(t, app, rows)
    t.equal(outbound - before, 0, 'no outbound socket was opened while verifying')
    t.equal(hits - hitsBefore, 0, 'the attacker\'s key server was never contacted')
  })
}

t.test('the counters would have seen an outbound request (the assertions above can fail)', async (t) => {
  const before = outbound
  const hitsBefore = hits
  const res = await fetch(keyUrl)
  await res.text()
  t.ok(outbound > before, 'a fetch opens a socket and is counted')
  t.equal(hits, hitsBefore + 1, 'and reaches the key server')
})

remember(signInput('HS256', 'x.y', 'unused'))
remember(hs256('x', 'unused'))
auditSweep(t)
