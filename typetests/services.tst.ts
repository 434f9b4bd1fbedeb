import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import { gatekeeper, type ApiKeyService, type JwtApi, type ProtectionApi, type RbacApi, type RedisOption } from 'fastify-gatekeeper'
import type { MfaApi } from 'fastify-gatekeeper/mfa'

const app = Fastify()

test('every service is typed as present, one rule for all (reading it before its plugin is registered throws GK_CONFIG)', () => {
  expect(app.gatekeeper.jwt).type.toBe<JwtApi>()
  expect(app.gatekeeper.apiKeys).type.toBe<ApiKeyService>()
  expect(app.gatekeeper.rbac).type.toBe<RbacApi>()
  expect(app.gatekeeper.mfa).type.toBe<MfaApi>()
  expect(app.gatekeeper.protection).type.toBe<ProtectionApi>()
  expect(app.gatekeeper.has('rbac')).type.toBe<boolean>()
})

test('services are read-only: a plugin provides its own with provide()', () => {
  expect(app.gatekeeper).type.not.toHaveProperty('runAuthentication')
  expect(app.gatekeeper).type.not.toHaveProperty('compileAll')
  expect(app.gatekeeper).type.not.toHaveProperty('lazyPolicy')
  expect(app.gatekeeper.provide).type.toBeCallableWith('rbac', app.gatekeeper.rbac)
  expect(app.gatekeeper.provide).type.not.toBeCallableWith('rbac', 42)
  expect(app.gatekeeper.provide).type.not.toBeCallableWith('nothing', {})
})

test('rateLimit, bruteForce and redis stay options of the gatekeeper plugin', () => {
  expect(app.register).type.toBeCallableWith(gatekeeper, { store: {} as never, rateLimit: true, bruteForce: false, redis: {} as RedisOption })
})
