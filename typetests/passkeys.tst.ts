import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import { gatekeeper, jwt } from 'fastify-gatekeeper'
import passkeysDefault, { PASSKEY_AMR, PASSKEY_FACTOR_AMR, passkeys, type PasskeysApi, type PasskeysOptions, type PasskeyView } from 'fastify-gatekeeper/passkeys'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify()

test('the plugin is the default and the named export of its subpath', () => {
  expect(passkeysDefault).type.toBe(passkeys)
  expect(app.register).type.toBeCallableWith(gatekeeper, { store: memoryStore() })
  expect(app.register).type.toBeCallableWith(jwt, { secret: 'x'.repeat(32), issuer: 'i', audience: 'a' })
})

test('rpID and origins are required; the rest is optional', () => {
  expect(app.register).type.toBeCallableWith(passkeys, { rpID: 'example.com', origins: ['https://example.com'] })
  expect(app.register).type.toBeCallableWith(passkeys, {
    rpID: 'example.com', rpName: 'Example', origins: ['https://example.com'], challengeTtl: '2m', recentLogin: '5m', maxPerUser: 5, routes: { prefix: '/auth/passkeys' }
  })
  expect(app.register).type.toBeCallableWith(passkeys, { rpID: 'example.com', origins: ['https://example.com'], routes: false })
  expect(app.register).type.not.toBeCallableWith(passkeys, { rpID: 'example.com' })
  expect(app.register).type.not.toBeCallableWith(passkeys, { origins: ['https://example.com'] })
  expect<PasskeysOptions['maxPerUser']>().type.toBe<number | undefined>()
})

test('the service is declared on app.gatekeeper', () => {
  expect(app.gatekeeper.passkeys).type.toBe<PasskeysApi>()
  const api = app.gatekeeper.passkeys
  expect(api.list('u')).type.toBe<Promise<PasskeyView[]>>()
  expect(api.rename('u', 'id', 'laptop')).type.toBe<Promise<PasskeyView | null>>()
  expect(api.remove('u', 'id')).type.toBe<Promise<boolean>>()
  expect(PASSKEY_AMR).type.toBe<readonly string[]>()
})

test('the amr values of a passkey login and of a passkey second factor', () => {
  expect(PASSKEY_FACTOR_AMR).type.toBe<readonly string[]>()
})
