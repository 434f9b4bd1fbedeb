import Fastify, { type FastifyRequest } from 'fastify'
import { expect, test } from 'tstyche'
import { gatekeeper, jwt, type GatekeeperStore } from 'fastify-gatekeeper'
import type { AccessTokenClaims } from 'fastify-gatekeeper/jwt'
import mfaDefault, {
  mfa, MFA_ACR, type ChallengeRepository, type CounterUpdate, type MfaApi, type MfaFactorRepository, type RecoveryCodeRepository,
  type SecondFactor, type TotpEnrolment, type WebAuthnCredentialRecord, type WebAuthnCredentialRepository
} from 'fastify-gatekeeper/mfa'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify()

test('the mfa plugin takes its options and needs encryptionKeys', () => {
  expect(app.register).type.toBeCallableWith(mfa, { encryptionKeys: [{ id: '2026-01', key: 'base64…' }] })
  expect(app.register).type.toBeCallableWith(mfa, {
    encryptionKeys: [{ id: 'new', key: Buffer.alloc(32) }, { id: 'old', key: 'base64…' }],
    issuer: 'Example',
    challengeTtl: '5m',
    maxAttempts: 5,
    totpWindow: 1,
    recentAuth: '10m',
    acr: MFA_ACR,
    routes: { prefix: '/api', loginMfa: '/login/mfa' }
  })
  expect(app.register).type.toBeCallableWith(mfa, { encryptionKeys: [{ id: 'k', key: 'x' }], routes: false })
  expect(app.register).type.not.toBeCallableWith(mfa, {})
  expect(app.register).type.not.toBeCallableWith(mfa, { encryptionKeys: [{ id: 'k' }] })
  expect(mfaDefault).type.toBe<typeof mfa>()
  expect(gatekeeper).type.not.toBe<typeof mfa>()
  expect(jwt).type.not.toBe<typeof mfa>()
})

test('config.stepUp is typed on routes', () => {
  app.get('/a', { config: { stepUp: { mfa: true } } }, async () => 'a')
  app.get('/b', { config: { stepUp: { maxAge: '5m' } } }, async () => 'b')
  app.get('/c', { config: { stepUp: { mfa: true, maxAge: 300_000 } } }, async () => 'c')
  expect(app.get).type.not.toBeCallableWith('/d', { config: { stepUp: { mfa: 'yes' } } }, async () => 'd')
})

test('the service, users.resetFactors and the token claims are typed', () => {
  expect(app.gatekeeper.mfa).type.toBe<MfaApi>()
  expect(app.gatekeeper.users.resetFactors).type.toBe<((id: string, request?: FastifyRequest) => Promise<void>) | undefined>()
  expect<MfaApi['enrolTotp']>().type.toBe<(userId: string, request?: FastifyRequest) => Promise<TotpEnrolment>>()
  expect<AccessTokenClaims['amr']>().type.toBe<string[] | undefined>()
  expect<AccessTokenClaims['auth_time']>().type.toBe<number | undefined>()
})

test('a second factor is an object the service adds', () => {
  const factor: SecondFactor = {
    name: 'webauthn',
    field: 'webauthn',
    answer: 'object',
    primary: true,
    enrolled: async () => true,
    verify: async () => ({ amr: ['hwk', 'user'] })
  }
  expect<MfaApi['addFactor']>().type.toBeCallableWith(factor)
  expect({ name: 'x', field: 'y', primary: true }).type.not.toBeAssignableTo<SecondFactor>()
})

test('the repositories are optional parts of the store, with the atomic results typed', () => {
  expect<GatekeeperStore['mfaFactors']>().type.toBe<MfaFactorRepository | undefined>()
  expect<GatekeeperStore['recoveryCodes']>().type.toBe<RecoveryCodeRepository | undefined>()
  expect<GatekeeperStore['webauthnCredentials']>().type.toBe<WebAuthnCredentialRepository | undefined>()
  expect<GatekeeperStore['challenges']>().type.toBe<ChallengeRepository | undefined>()
  expect<ReturnType<WebAuthnCredentialRepository['updateCounter']>>().type.toBe<Promise<CounterUpdate>>()
  expect<CounterUpdate>().type.toBe<'ok' | 'regressed' | 'unknown'>()
  expect<WebAuthnCredentialRecord['transports']>().type.toBe<string[]>()
  expect(memoryStore().challenges).type.toBe<ChallengeRepository | undefined>()
})
