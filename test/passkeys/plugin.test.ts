import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { passkeys } from '../../lib/passkeys/index.js'
import { memoryStore } from '../../lib/stores/memory.js'

const PASSWORD = 'correct horse battery staple'
const OPTIONS = { rpID: 'localhost', origins: ['http://localhost:3000'] }

async function app (store = memoryStore(), opts: Record<string, unknown> = {}): Promise<ReturnType<typeof Fastify>> {
  const a = Fastify()
  await a.register(gatekeeper, { store, audit: { log: false }, bruteForce: false })
  await a.register(jwt, { secret: 'x'.repeat(32), issuer: 'passkeys-unit', audience: 'api', cookie: false })
  await a.register(passkeys, { ...OPTIONS, ...opts })
  await a.ready()
  return a
}

t.test('registration: without jwt, twice, or on a store without WebAuthn repositories → GK_CONFIG', async (t) => {
  const bare = Fastify()
  await bare.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  await t.rejects(async () => { await bare.register(passkeys, OPTIONS).ready() }, { code: 'GK_CONFIG', message: /register the jwt plugin before passkeys/ })
  const twice = Fastify()
  await twice.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  await twice.register(jwt, { secret: 'x'.repeat(32), issuer: 'i', audience: 'a' })
  await twice.register(passkeys, OPTIONS)
  await t.rejects(async () => { await twice.register(passkeys, OPTIONS).ready() }, { code: 'GK_CONFIG', message: /registered twice/ })
  const store = memoryStore()
  delete (store as { webauthnCredentials?: unknown }).webauthnCredentials
  await t.rejects(app(store), { code: 'GK_CONFIG', message: /store.webauthnCredentials and store.challenges/ })
})

t.test('routes: false registers none; the service is still there', async (t) => {
  const a = await app(undefined, { routes: false })
  t.teardown(() => a.close())
  t.equal((await a.inject({ method: 'POST', url: '/api/passkeys/login/options', payload: {} })).statusCode, 404)
  t.same(await a.gatekeeper.passkeys?.list('nobody'), [])
})

t.test('malformed bodies and callers without a user token', async (t) => {
  const a = await app(memoryStore(), { maxPerUser: 1 })
  t.teardown(() => a.close())
  const user = await a.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  const login = (await a.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })).json()
  const auth = { authorization: `Bearer ${login.accessToken as string}` }
  const rows: Array<[string, Record<string, unknown>, number, string]> = [
    ['login with no body fields', { method: 'POST', url: '/api/passkeys/login', payload: {} }, 400, 'GK_INVALID_REQUEST'],
    ['login with an extra field', { method: 'POST', url: '/api/passkeys/login', payload: { challenge: 'x', response: {}, username: 'alice' } }, 400, 'GK_INVALID_REQUEST'],
    ['login with a response that is not base64url', { method: 'POST', url: '/api/passkeys/login', payload: { challenge: 'x', response: { id: '!', rawId: '!', type: 'public-key', response: { clientDataJSON: '!', authenticatorData: '!', signature: '!' } } } }, 400, 'GK_INVALID_REQUEST'],
    ['login with a well-formed response for an unknown challenge', { method: 'POST', url: '/api/passkeys/login', payload: { challenge: 'x', response: { id: 'AA', rawId: 'AA', type: 'public-key', response: { clientDataJSON: 'AA', authenticatorData: 'AA', signature: 'AA' } } } }, 401, 'GK_INVALID_CREDENTIALS'],
    ['login with a body that is not JSON', { method: 'POST', url: '/api/passkeys/login', payload: '{', headers: { 'content-type': 'application/json' } }, 400, 'GK_INVALID_REQUEST'],
    ['registration options without a token', { method: 'POST', url: '/api/passkeys/register/options', payload: {} }, 401, 'GK_UNAUTHORIZED'],
    ['registration with an unknown challenge', { method: 'POST', url: '/api/passkeys/register', headers: auth, payload: { challenge: 'x', response: { id: 'AA', rawId: 'AA', type: 'public-key', response: { clientDataJSON: 'AA', attestationObject: 'AA' } } } }, 400, 'GK_INVALID_REQUEST'],
    ['a rename to an empty name', { method: 'PATCH', url: '/api/passkeys/AA', headers: auth, payload: { name: '' } }, 400, 'GK_INVALID_REQUEST'],
    ['a rename of an unknown passkey', { method: 'PATCH', url: '/api/passkeys/AA', headers: auth, payload: { name: 'x' } }, 404, 'GK_NOT_FOUND'],
    ['a removal of an unknown passkey', { method: 'DELETE', url: '/api/passkeys/AA', headers: auth }, 404, 'GK_NOT_FOUND']
  ]
  for (const [what, request, status, code] of rows) {
    const res = await a.inject(request)
    t.equal(res.statusCode, status, what)
    t.equal(res.json().code, code, what)
  }
  await a.gatekeeper.store.webauthnCredentials!.create({ id: 'AA', userId: user.id, publicKey: 'AA', counter: 0, backupEligible: false, backedUp: false, name: 'old' })
  const full = await a.inject({ method: 'POST', url: '/api/passkeys/register/options', headers: auth, payload: {} })
  t.equal(full.statusCode, 409, 'at maxPerUser, no new ceremony')
  t.equal(full.json().code, 'GK_CONFLICT')
  const options = await a.inject({ method: 'POST', url: '/api/passkeys/login/options', payload: {} })
  t.equal(options.statusCode, 200)
  t.equal(options.headers['cache-control'], 'no-store')
  t.same(options.json().options.allowCredentials, [], 'usernameless: no credential is named')
  t.equal(options.json().options.userVerification, 'required')
})
