import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import { dpop as fromRoot, gatekeeper, type AuthContext, type DpopOptions as FromRoot, type RouteAuthConfig, type Strategy } from 'fastify-gatekeeper'
import dpopDefault, { accessTokenHash, boundKeyOf, DPOP_ALGORITHMS, dpop, NONCE_HEADER, PROOF_FAILURES, type DpopAlgorithm, type DpopOptions, type DpopService, type ProofFailure } from 'fastify-gatekeeper/dpop'
import type { IssuedToken } from 'fastify-gatekeeper/jwt'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify()

test('the plugin is the default export, the named export and in the root barrel', () => {
  expect(dpopDefault).type.toBe(dpop)
  expect(fromRoot).type.toBe(dpop)
  expect<FromRoot>().type.toBe<DpopOptions>()
  expect(app.register).type.toBeCallableWith(gatekeeper, { store: memoryStore() })
})

test('its options are typed from their schema', () => {
  expect(app.register).type.toBeCallableWith(dpop, { policy: 'required', algorithms: ['ES256', 'EdDSA'], maxAge: '30s', clockTolerance: 2000, publicOrigin: 'https://api.example', nonce: { secret: 'x'.repeat(32), ttl: '5m' }, replayCacheSize: 100_000 })
  expect(app.register).type.toBeCallableWith(dpop, { nonce: true })
  expect(app.register).type.not.toBeCallableWith(dpop, { policy: 'sometimes' })
  expect(app.register).type.not.toBeCallableWith(dpop, { algorithms: ['HS256'] })
  expect(app.register).type.not.toBeCallableWith(dpop, { replay: 'memory' })
})

test('route config, the caller and the strategy contract', () => {
  expect<RouteAuthConfig>().type.toBeAssignableFrom({ dpop: 'required' as const })
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ dpop: 'always' as const })
  expect<AuthContext['scheme']>().type.toBe<string | undefined>()
  expect<AuthContext['confirmation']>().type.toBe<{ readonly jkt: string } | undefined>()
  expect<Strategy['schemes']>().type.toBe<readonly string[] | undefined>()
  expect<IssuedToken['tokenType']>().type.toBe<'Bearer' | 'DPoP'>()
})

test('the service and the helpers', () => {
  expect(app.gatekeeper.dpop).type.toBe<DpopService>()
  expect<DpopService['policy']>().type.toBe<'required' | 'allowed'>()
  expect<DpopAlgorithm>().type.toBe<'ES256' | 'EdDSA' | 'Ed25519' | 'RS256' | 'PS256'>()
  expect(DPOP_ALGORITHMS).type.toBe<readonly ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256']>()
  expect<ProofFailure>().type.toBe<typeof PROOF_FAILURES[number]>()
  expect(accessTokenHash('t')).type.toBe<string>()
  expect(boundKeyOf({})).type.toBe<string | undefined>()
  expect(NONCE_HEADER).type.toBe<'dpop-nonce'>()
})
