import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt, type JwtOptions } from '../../lib/jwt/index.js'
import { normalizeOptions } from '../../lib/jwt/options.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { AUDIENCE, ISSUER, SECRET, keyPair } from './helpers.js'

const base = { issuer: ISSUER, audience: AUDIENCE }
const ed = keyPair('EdDSA')
const ec = keyPair('ES256')
const rsaSmall = keyPair('RS256', 1024)

t.test('defaults follow the documented values', async (t) => {
  const o = normalizeOptions({ ...base, secret: SECRET })
  t.equal(o.ttlMs, 15 * 60_000)
  t.equal(o.toleranceMs, 5000)
  t.equal(o.cookieName, null)
  t.same(o.routes, { login: '/api/login', logout: '/api/logout', register: null, password: '/api/password' })
  t.same(o.password.argon2, { memoryCost: 19456, timeCost: 2, parallelism: 1 })
  t.equal(o.password.minLength, 8)
  t.equal(o.password.maxLength, 128)
  t.same(o.csrf, { header: 'x-gk-csrf', origins: null })
  t.same(o.defaultRoles, ['user'])
  t.equal(o.cacheSize, 10_000)
  t.ok(Object.isFrozen(o))
  t.equal(normalizeOptions({ ...base, secret: SECRET, cookie: {} }).cookieName, '__Host-gk_access')
  t.same(normalizeOptions({ ...base, secret: SECRET, routes: { prefix: '/auth/', register: true, password: false } }).routes,
    { login: '/auth/login', logout: '/auth/logout', register: '/auth/register', password: null })
  t.same(normalizeOptions({ ...base, secret: SECRET, routes: { prefix: '', register: '/signup' } }).routes?.register, '/signup')
  t.equal(normalizeOptions({ ...base, secret: SECRET, routes: false }).routes, null)
  t.equal(normalizeOptions({ ...base, secret: Buffer.alloc(32, 1) }).keys[0]?.algorithm, 'HS256')
})

t.test('bad options are refused at registration with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no key at all', { ...base }, /exactly one of secret/],
    ['a secret read from an unset environment variable', { ...base, secret: undefined }, /secret is undefined: .*process\.env\.JWT_SECRET/],
    ['both secret and keys', { ...base, secret: SECRET, keys: [] }, /exactly one of secret/],
    ['a 31-byte secret', { ...base, secret: 'x'.repeat(31) }, /31 bytes; HS256 needs at least 32/],
    ['a secret that is a number', { ...base, secret: 12345 }, /secret must be a string or a Buffer/],
    ['a missing issuer', { audience: AUDIENCE, secret: SECRET }, /issuer is required/],
    ['an empty audience', { issuer: ISSUER, audience: '', secret: SECRET }, /audience is required/],
    ['an unknown option', { ...base, secret: SECRET, algorithm: 'none' }, /unknown jwt option 'algorithm'/],
    ['a TTL over 60 minutes', { ...base, secret: SECRET, accessTokenTtl: '61m' }, /accessTokenTtl must be between 1s and 1h/],
    ['a clock tolerance over 5 minutes', { ...base, secret: SECRET, clockTolerance: '10m' }, /clockTolerance/],
    ['argon2 memory below OWASP', { ...base, secret: SECRET, password: { argon2: { memoryCost: 4096 } } }, /OWASP minimum 19456/],
    ['argon2 time cost below OWASP', { ...base, secret: SECRET, password: { argon2: { timeCost: 1 } } }, /OWASP minimum 2/],
    ['an unknown argon2 option', { ...base, secret: SECRET, password: { argon2: { type: 0 } } }, /password\.argon2\.type/],
    ['a minimum length under 8', { ...base, secret: SECRET, password: { minLength: 6 } }, /minLength must be an integer from 8/],
    ['a maximum length under 64', { ...base, secret: SECRET, password: { maxLength: 32 } }, /maxLength must be an integer from 64/],
    ['isBreached that is not a function', { ...base, secret: SECRET, password: { isBreached: true } }, /isBreached must be a function/],
    ['a blocklist that is not strings', { ...base, secret: SECRET, password: { blocklist: [1] } }, /blocklist/],
    ['a bad cookie name', { ...base, secret: SECRET, cookie: { name: 'a b' } }, /cookie\.name/],
    ['an unknown cookie option', { ...base, secret: SECRET, cookie: { domain: 'x' } }, /cookie\.domain/],
    ['a bad CSRF header', { ...base, secret: SECRET, csrf: { header: 'x y' } }, /csrf\.header/],
    ['a CSRF origin with a path', { ...base, secret: SECRET, csrf: { origins: ['https://a.example/x'] } }, /csrf\.origins/],
    ['a route path without a slash', { ...base, secret: SECRET, routes: { login: 'login' } }, /routes\.login must be a path/],
    ['register as a number', { ...base, secret: SECRET, routes: { register: 1 } }, /routes\.register/],
    ['claims that is not a function', { ...base, secret: SECRET, claims: {} }, /claims must be a function/],
    ['defaultRoles with an empty name', { ...base, secret: SECRET, defaultRoles: [''] }, /defaultRoles/],
    ['a negative cache size', { ...base, secret: SECRET, cacheSize: -1 }, /cacheSize/],
    ['keys that are empty', { ...base, keys: [] }, /keys must be a non-empty array/],
    ['an RSA key of 1024 bits', { ...base, keys: [{ kid: 'r', algorithm: 'RS256', ...rsaSmall }] }, /1024 bits; at least 2048/],
    ['an EC key for EdDSA', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', ...ec }] }, /EdDSA needs an Ed25519 key/],
    ['an Ed25519 key for ES256', { ...base, keys: [{ kid: 'k', algorithm: 'ES256', ...ed }] }, /ES256 needs a P-256 EC key/],
    ['an Ed25519 key for RS256', { ...base, keys: [{ kid: 'k', algorithm: 'RS256', ...ed }] }, /RS256 needs an RSA key/],
    ['the HS256 algorithm in keys', { ...base, keys: [{ kid: 'k', algorithm: 'HS256', ...ed }] }, /algorithm must be one of EdDSA, ES256, RS256/],
    ['a signing key without a private key', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', publicKey: ed.publicKey }] }, /keys\[0\] signs new tokens/],
    ['a key without a public key', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', privateKey: ed.privateKey }] }, /publicKey is required/],
    ['two keys with one kid', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', ...ed }, { kid: 'k', algorithm: 'EdDSA', publicKey: ed.publicKey }] }, /used twice/],
    ['a private key of another pair', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', privateKey: keyPair('EdDSA').privateKey, publicKey: ed.publicKey }] }, /not a pair/],
    ['a kid with spaces', { ...base, keys: [{ kid: 'a b', algorithm: 'EdDSA', ...ed }] }, /kid must be/],
    ['an unknown key field', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', ...ed, use: 'sig' }] }, /unknown field 'use'/],
    ['unreadable PEM', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', privateKey: 'nope', publicKey: 'nope' }] }, /not a readable public key/],
    ['unreadable private PEM', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', privateKey: 'nope', publicKey: ed.publicKey }] }, /not a readable private key/],
    ['a public key as the private key', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', privateKey: ed.publicKey, publicKey: ed.publicKey }] }, /must be a private key/],
    ['a key that is a number', { ...base, keys: [{ kid: 'k', algorithm: 'EdDSA', publicKey: 5 }] }, /PEM text, a Buffer or a KeyObject/],
    ['a key entry that is a string', { ...base, keys: ['k'] }, /keys\[0\] must be an object/]
  ]
  for (const [name, opts, message] of rows) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await t.rejects(async () => { await app.register(jwt, opts as unknown as JwtOptions) }, { code: 'GK_CONFIG', message }, name)
    await app.close()
  }
})

t.test('PEM strings and a private key as the public half are accepted', async (t) => {
  const pem = {
    privateKey: ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    publicKey: ec.publicKey.export({ format: 'pem', type: 'spki' }) as string
  }
  const o = normalizeOptions({ ...base, keys: [{ kid: 'pem', algorithm: 'ES256', ...pem }, { kid: 'priv', algorithm: 'ES256', publicKey: ec.privateKey }] } as JwtOptions)
  t.equal(o.keys.length, 2)
  t.equal(o.keys[1]?.verifyKey.type, 'public')
})

t.test('the plugin needs the core plugin first', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(jwt, { ...base, secret: SECRET })
  await t.rejects(async () => { await app.ready() }, /gatekeeper/)
})
