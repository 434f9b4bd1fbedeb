import t from 'tap'
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { mfa, type MfaOptions } from '../../lib/mfa/index.js'
import { Sealer } from '../../lib/mfa/seal.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { SECRET } from './helpers.js'

const key = (): string => randomBytes(32).toString('base64')

t.test('a sealed secret opens for its user only, with the key it names', async (t) => {
  const old = { id: 'old', key: key() }
  const sealer = new Sealer([old])
  const sealed = sealer.seal('JBSWY3DPEHPK3PXP', 'u1')
  t.match(sealed, /^old:[A-Za-z0-9_-]+$/)
  t.not(sealer.seal('JBSWY3DPEHPK3PXP', 'u1'), sealed, 'a fresh IV each time')
  t.equal(sealer.open(sealed, 'u1'), 'JBSWY3DPEHPK3PXP')
  t.equal(sealer.open(sealed, 'u2'), null, 'copied to another user, it does not open')
  const raw = Buffer.from(sealed.slice(4), 'base64url')
  raw[20] = (raw[20] as number) ^ 1
  t.equal(sealer.open(`old:${raw.toString('base64url')}`, 'u1'), null, 'altered')
  t.equal(sealer.open('nope:AAAA', 'u1'), null, 'unknown key')
  t.equal(sealer.open('old:AA', 'u1'), null, 'too short')

  const rotated = new Sealer([{ id: 'new', key: key() }, old])
  t.equal(rotated.open(sealed, 'u1'), 'JBSWY3DPEHPK3PXP', 'after rotation the old key still opens what it sealed')
  t.match(rotated.seal('x', 'u1'), /^new:/, 'and the new one seals')
  t.equal(new Sealer([{ id: 'new', key: key() }]).open(sealed, 'u1'), null, 'without the old key it is unreadable')
})

t.test('bad options are refused at registration with GK_CONFIG saying what to change', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no keys', { encryptionKeys: [] }, /at least one key/],
    ['a short key', { encryptionKeys: [{ id: 'k', key: randomBytes(16).toString('base64') }] }, /32 bytes/],
    ['a bad key id', { encryptionKeys: [{ id: 'a:b', key: key() }] }, /id of 1 to 32/],
    ['a key id twice', { encryptionKeys: [{ id: 'k', key: key() }, { id: 'k', key: key() }] }, /twice/],
    ['an unknown option', { encryptionKeys: [{ id: 'k', key: key() }], window: 3 }, /unknown option 'window'/],
    ['a long challenge', { encryptionKeys: [{ id: 'k', key: key() }], challengeTtl: '1h' }, /challengeTtl must be between/],
    ['too many attempts', { encryptionKeys: [{ id: 'k', key: key() }], maxAttempts: 50 }, /maxAttempts must be an integer from 1 to 10/],
    ['a wide window', { encryptionKeys: [{ id: 'k', key: key() }], totpWindow: 5 }, /totpWindow/],
    ['an issuer with a colon', { encryptionKeys: [{ id: 'k', key: key() }], issuer: 'a:b' }, /issuer/]
  ]
  for (const [name, opts, message] of cases) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await app.register(jwt, { secret: SECRET, issuer: 'https://i.test', audience: 'a' })
    await t.rejects(async () => { await app.register(mfa, opts as MfaOptions); await app.ready() }, { code: 'GK_CONFIG', message }, name)
    await app.close()
  }
})

t.test('a malformed config.stepUp fails the start-up naming the route', async (t) => {
  for (const [stepUp, message] of [[{ mfa: 'yes' }, /mfa must be a boolean/], [{}, /asks for nothing/], [{ maxAge: 'soon' }, /maxAge/], [{ mfa: true, acr: 'x' }, /unknown key config.stepUp.acr/]] as const) {
    const app = Fastify()
    await app.register(gatekeeper, { store: memoryStore() })
    await app.register(jwt, { secret: SECRET, issuer: 'https://i.test', audience: 'a' })
    await app.register(mfa, { encryptionKeys: [{ id: 'k', key: key() }] })
    await t.rejects(async () => {
      app.get('/x', { config: { stepUp: stepUp as never } }, async () => 'x')
      await app.ready()
    }, { code: 'GK_CONFIG', message: new RegExp(`GET /x.*${message.source}`) })
    await app.close()
  }
})

t.test('the plugin needs the jwt plugin and a store with its repositories', async (t) => {
  const noJwt = Fastify()
  await noJwt.register(gatekeeper, { store: memoryStore() })
  await t.rejects(async () => { await noJwt.register(mfa, { encryptionKeys: [{ id: 'k', key: key() }] }); await noJwt.ready() }, { code: 'GK_CONFIG', message: /register the jwt plugin before mfa/ }, 'the missing plugin is named as users write it')
  const bare = Fastify()
  const { challenges: _c, ...store } = memoryStore()
  await bare.register(gatekeeper, { store })
  await bare.register(jwt, { secret: SECRET, issuer: 'https://i.test', audience: 'a' })
  await t.rejects(async () => { await bare.register(mfa, { encryptionKeys: [{ id: 'k', key: key() }] }); await bare.ready() }, { code: 'GK_CONFIG', message: /store.challenges/ })
})
