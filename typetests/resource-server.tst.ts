import Fastify, { type FastifyRequest } from 'fastify'
import { expect, test } from 'tstyche'
import { gatekeeper, resourceServer as fromRoot, type AuthContext, type ResourceServerOptions as FromRoot } from 'fastify-gatekeeper'
import resourceServerDefault, {
  PRESET_NAMES, RESOURCE_SERVER_EVENTS, resourceServer, STRATEGY_NAME,
  type ClaimMapping, type IssuerOptions, type IssuerStatus, type PresetName, type ResourceServerApi, type ResourceServerEvents, type ResourceServerOptions
} from 'fastify-gatekeeper/resource-server'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const app = Fastify()

test('the plugin is the default export, the named export and in the root barrel', () => {
  expect(resourceServerDefault).type.toBe(resourceServer)
  expect(fromRoot).type.toBe(resourceServer)
  expect<FromRoot>().type.toBe<ResourceServerOptions>()
  expect(app.register).type.toBeCallableWith(gatekeeper, { store: memoryStore() })
})

test('its options are typed from their schema', () => {
  expect(app.register).type.toBeCallableWith(resourceServer, { resource: 'https://api.example.com', issuers: [{ issuer: 'https://idp.example.com/' }] })
  // A real call: the claims function's parameters are typed from the options.
  app.register(resourceServer, {
    resource: 'https://api.example.com',
    scopes: ['a'],
    metadata: { resourceName: 'API' },
    jwks: { cooldown: '30s', maxBytes: 65536 },
    issuers: [{
      issuer: 'https://idp.example.com/',
      preset: 'auth0',
      audience: ['https://api.example.com'],
      userScopes: 'ignore',
      introspection: { clientId: 'c', clientSecret: 's', auth: 'client_secret_post' },
      claims: (claims, mapped) => {
        expect(claims).type.toBe<Readonly<Record<string, unknown>>>()
        expect(mapped).type.toBe<Readonly<ClaimMapping>>()
        return { roles: [...mapped.roles, String(claims.role)] }
      }
    }]
  })
  expect(app.register).type.not.toBeCallableWith(resourceServer, { issuers: [{ issuer: 'x' }] })
  expect(app.register).type.not.toBeCallableWith(resourceServer, { resource: 'x', issuers: [{ issuer: 'x', preset: 'github' }] })
  expect(app.register).type.not.toBeCallableWith(resourceServer, { resource: 'x', issuers: [{ issuer: 'x', userScopes: 'maybe' }] })
  expect<IssuerOptions['preset']>().type.toBe<PresetName | undefined>()
  expect<PresetName>().type.toBe<'auth0' | 'keycloak' | 'entra' | 'cognito' | 'okta' | 'google' | 'zitadel'>()
  expect(PRESET_NAMES).type.toBe<readonly ['auth0', 'keycloak', 'entra', 'cognito', 'okta', 'google', 'zitadel']>()
})

test('the service is declared on app.gatekeeper, and callers carry issuer and client', () => {
  expect(app.gatekeeper.resourceServer).type.toBe<ResourceServerApi>()
  expect(app.gatekeeper.resourceServer.verify('t')).type.toBe<Promise<AuthContext>>()
  expect(app.gatekeeper.resourceServer.issuers()).type.toBe<IssuerStatus[]>()
  app.get('/x', async (request: FastifyRequest) => {
    expect(request.auth?.issuer).type.toBe<string | undefined>()
    expect(request.auth?.clientId).type.toBe<string | undefined>()
    return 'x'
  })
  expect(STRATEGY_NAME).type.toBe<'resourceServer'>()
})

test('claim mappings and events have their shapes', () => {
  expect<ClaimMapping>().type.toBe<{ subject: string, kind: 'user' | 'application', roles: readonly string[], permissions: readonly string[], scopes: readonly string[], clientId: string | null }>()
  expect<keyof ResourceServerEvents>().type.toBe<'resource.keys_changed' | 'resource.provider_unavailable' | 'resource.claims_mapping_failed'>()
  expect(RESOURCE_SERVER_EVENTS).type.toBe<readonly ['resource.keys_changed', 'resource.provider_unavailable', 'resource.claims_mapping_failed']>()
  expect<ResourceServerEvents['resource.provider_unavailable']['endpoint']>().type.toBe<'discovery' | 'jwks' | 'introspection'>()
})
