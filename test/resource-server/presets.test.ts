import type { JWTPayload } from 'jose'
import t, { type Test } from 'tap'
import { rbac } from '../../lib/rbac/plugin.js'
import type { PresetName } from '../../lib/resource-server/presets.js'
import { fakeKey, nowS, startFakeIssuer, type FakeIssuer } from './fake-issuer.js'
import { bearer, resourceApp } from './helpers.js'

// Each preset against a token shaped as its provider documents it (the
// sources are cited in docs/resource-server.md). The issuers keep their real
// URLs; the plugin's `fetch` option routes their key requests to a loopback
// server holding the signing key.

interface Fixture {
  issuer: string
  audience: string | string[]
  /** The JOSE header `typ` the provider uses (`null`: none). */
  typ: string | null
  alg: 'RS256' | 'ES256'
  /** Tokens of the provider: [what it is, payload, expected caller or expected status]. */
  tokens: Array<[string, JWTPayload, Record<string, unknown> | number]>
}

const iat = nowS()
const exp = iat + 3600

const FIXTURES: Record<PresetName, Fixture> = {
  // Auth0 "Access Token Profiles" (default profile) and the RBAC permissions claim; client credentials: gty, sub "<client>@clients".
  auth0: {
    issuer: 'https://example-tenant.eu.auth0.com/',
    audience: 'https://reports.example.com',
    typ: 'JWT',
    alg: 'RS256',
    tokens: [
      ['a user token with RBAC permissions', { iss: 'https://example-tenant.eu.auth0.com/', sub: 'auth0|6543210fedcba9876543210', aud: ['https://reports.example.com', 'https://example-tenant.eu.auth0.com/userinfo'], azp: 'Jw9X0k2mB4vQ1sT7', iat, exp, scope: 'openid profile read:reports', permissions: ['read:reports', 'write:reports'] },
        { kind: 'user', subject: 'auth0|6543210fedcba9876543210', clientId: 'Jw9X0k2mB4vQ1sT7', scopes: ['openid', 'profile', 'read:reports'], permissions: ['read:reports', 'write:reports'] }],
      ['a client-credentials token', { iss: 'https://example-tenant.eu.auth0.com/', sub: 'Jw9X0k2mB4vQ1sT7@clients', aud: 'https://reports.example.com', iat, exp, scope: 'read:reports', gty: 'client-credentials', azp: 'Jw9X0k2mB4vQ1sT7', permissions: ['read:reports'] },
        { kind: 'application', subject: 'Jw9X0k2mB4vQ1sT7@clients', clientId: 'Jw9X0k2mB4vQ1sT7', scopes: ['read:reports'] }],
      ['an ID token (aud the client, nonce)', { iss: 'https://example-tenant.eu.auth0.com/', sub: 'auth0|6543210fedcba9876543210', aud: 'Jw9X0k2mB4vQ1sT7', iat, exp, nonce: 'n-0S6_WzA2Mj', name: 'Alice' }, 401]
    ]
  },
  // Keycloak access tokens: payload typ "Bearer", realm_access.roles, resource_access.<client>.roles, azp; service accounts carry client_id.
  keycloak: {
    issuer: 'https://sso.example.com/realms/acme',
    audience: 'reports-api',
    typ: 'JWT',
    alg: 'RS256',
    tokens: [
      ['a user token', { exp, iat, jti: 'onrtac:6d9c0f35-0b4b-4c9e-9d0b-2a3f1b2c3d4e', iss: 'https://sso.example.com/realms/acme', aud: ['reports-api', 'account'], sub: '2f1e8e1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f', typ: 'Bearer', azp: 'web-frontend', sid: 'a1b2', acr: '1', 'allowed-origins': ['https://app.example.com'], realm_access: { roles: ['default-roles-acme', 'offline_access', 'editor'] }, resource_access: { 'reports-api': { roles: ['report-admin'] }, account: { roles: ['manage-account'] } }, scope: 'openid email profile', email_verified: true, preferred_username: 'alice' },
        { kind: 'user', subject: '2f1e8e1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f', clientId: 'web-frontend', roles: ['default-roles-acme', 'offline_access', 'editor', 'report-admin'], scopes: ['openid', 'email', 'profile'] }],
      ['a service-account token', { exp, iat, jti: 'trrtcc:1c2d', iss: 'https://sso.example.com/realms/acme', aud: 'reports-api', sub: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', typ: 'Bearer', azp: 'reports-bot', acr: '1', realm_access: { roles: ['default-roles-acme'] }, resource_access: { 'reports-api': { roles: ['report-reader'] } }, scope: 'email profile', clientHost: '10.0.0.7', preferred_username: 'service-account-reports-bot', clientAddress: '10.0.0.7', client_id: 'reports-bot' },
        { kind: 'application', subject: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', clientId: 'reports-bot', roles: ['default-roles-acme', 'report-reader'] }],
      ['an ID token (typ "ID")', { exp, iat, jti: 'x', iss: 'https://sso.example.com/realms/acme', aud: 'reports-api', sub: '2f1e8e1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f', typ: 'ID', azp: 'reports-api', preferred_username: 'alice' }, 401]
    ]
  },
  // Microsoft identity platform access token claims reference (v2.0): scp, roles, oid, azp, idtyp (optional claim), tid, ver.
  entra: {
    issuer: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
    audience: 'api://reports-api',
    typ: 'JWT',
    alg: 'RS256',
    tokens: [
      ['a delegated (user) token', { aud: 'api://reports-api', iss: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', iat, nbf: iat, exp, aio: 'AVQAq/8T', azp: '6e74172b-be56-4843-9ff4-e66a39bb12e3', azpacr: '0', name: 'Alice', oid: '690222be-ff1a-4d56-abd1-7e4f7d38e474', preferred_username: 'alice@contoso.com', rh: 'I', roles: ['Reports.Admin'], scp: 'Reports.Read Reports.Write', sub: 'HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ', tid: '72f988bf-86f1-41af-91ab-2d7cd011db47', uti: 'fqiBqXLPj0eQa82S-IYFAA', ver: '2.0' },
        { kind: 'user', subject: '690222be-ff1a-4d56-abd1-7e4f7d38e474', clientId: '6e74172b-be56-4843-9ff4-e66a39bb12e3', roles: ['Reports.Admin'], scopes: ['Reports.Read', 'Reports.Write'] }],
      ['an app-only token', { aud: 'api://reports-api', iss: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', iat, nbf: iat, exp, azp: 'b1f5c2d3-0a4e-4b6c-8d7e-9f0a1b2c3d4e', azpacr: '1', idtyp: 'app', oid: '5c2a8d9e-1f3b-4e6d-a7c8-9b0e1d2f3a4b', roles: ['Reports.Read.All'], sub: '5c2a8d9e-1f3b-4e6d-a7c8-9b0e1d2f3a4b', tid: '72f988bf-86f1-41af-91ab-2d7cd011db47', ver: '2.0' },
        { kind: 'application', subject: '5c2a8d9e-1f3b-4e6d-a7c8-9b0e1d2f3a4b', clientId: 'b1f5c2d3-0a4e-4b6c-8d7e-9f0a1b2c3d4e', scopes: ['Reports.Read.All'] }],
      ['an ID token (no scp, no idtyp, sub per app)', { aud: 'api://reports-api', iss: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', iat, exp, oid: '690222be-ff1a-4d56-abd1-7e4f7d38e474', sub: 'HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ', roles: ['Reports.Admin'], tid: '72f988bf-86f1-41af-91ab-2d7cd011db47', ver: '2.0', preferred_username: 'alice@contoso.com' }, 401]
    ]
  },
  // Amazon Cognito "Understanding the access token": no aud, client_id, token_use "access", scope, cognito:groups, username.
  cognito: {
    issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
    audience: '1example23456789',
    typ: null,
    alg: 'RS256',
    tokens: [
      ['a user token', { sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'cognito:groups': ['editors'], iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', client_id: '1example23456789', origin_jti: 'aaaa-1111', event_id: 'bbbb-2222', token_use: 'access', scope: 'aws.cognito.signin.user.admin openid reports/read', auth_time: iat, exp, iat, jti: 'cccc-3333', username: 'alice' },
        { kind: 'user', subject: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clientId: '1example23456789', roles: ['editors'], scopes: ['aws.cognito.signin.user.admin', 'openid', 'reports/read'] }],
      ['a client-credentials token', { sub: '1example23456789', token_use: 'access', scope: 'reports/read', auth_time: iat, iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', exp, iat, version: 2, jti: 'dddd-4444', client_id: '1example23456789' },
        { kind: 'application', subject: '1example23456789', clientId: '1example23456789', scopes: ['reports/read'] }],
      ['an ID token (token_use "id", aud the client)', { sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', aud: '1example23456789', iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', token_use: 'id', auth_time: iat, exp, iat, 'cognito:username': 'alice', email: 'alice@example.com' }, 401],
      ['an access token of another app client', { sub: '9other9client9', token_use: 'access', scope: 'reports/read', iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', exp, iat, jti: 'e', client_id: '9other9client9' }, 401]
    ]
  },
  // Okta access tokens of a custom authorization server: ver, jti "AT.", cid, uid, scp (array), a groups claim you add.
  okta: {
    issuer: 'https://example.okta.com/oauth2/default',
    audience: 'api://default',
    typ: null,
    alg: 'RS256',
    tokens: [
      ['a user token', { ver: 1, jti: 'AT.MNAoEQ_jbKqoinrQo1D0XKjMX28U5d7ZszBceot7-Ts', iss: 'https://example.okta.com/oauth2/default', aud: 'api://default', sub: 'alice@example.com', iat, exp, cid: '0oa1b2c3d4E5F6g7h8i9', uid: '00u1a2b3c4D5e6F7g8h9', scp: ['openid', 'profile', 'reports:read'], auth_time: iat, groups: ['Everyone', 'Editors'] },
        { kind: 'user', subject: '00u1a2b3c4D5e6F7g8h9', clientId: '0oa1b2c3d4E5F6g7h8i9', roles: ['Everyone', 'Editors'], scopes: ['openid', 'profile', 'reports:read'] }],
      ['a client-credentials token', { ver: 1, jti: 'AT.aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9', iss: 'https://example.okta.com/oauth2/default', aud: 'api://default', iat, exp, cid: '0oa9z8y7x6W5v4U3t2s1', scp: ['reports:read'], sub: '0oa9z8y7x6W5v4U3t2s1' },
        { kind: 'application', subject: '0oa9z8y7x6W5v4U3t2s1', clientId: '0oa9z8y7x6W5v4U3t2s1', scopes: ['reports:read'] }],
      ['an ID token (aud the client, jti "ID.", at_hash)', { sub: '00u1a2b3c4D5e6F7g8h9', ver: 1, iss: 'https://example.okta.com/oauth2/default', aud: 'api://default', iat, exp, jti: 'ID.radCQMOQUmyvcTBmmIL0J6BaS60apUEiC7-vI7pOmkw', amr: ['pwd'], idp: '00o1', preferred_username: 'alice@example.com', auth_time: iat, at_hash: 'fPlsvVszI29LU2UhDyJ9vg' }, 401]
    ]
  },
  // Google-signed ID tokens (the documented credential for calling your own service): iss, aud your URL, azp, email.
  google: {
    issuer: 'https://accounts.google.com',
    audience: 'https://reports.example.com',
    typ: 'JWT',
    alg: 'RS256',
    tokens: [
      ['a service account\'s ID token', { aud: 'https://reports.example.com', azp: '112233445566778899001', email: 'reports-bot@acme-prod.iam.gserviceaccount.com', email_verified: true, exp, iat, iss: 'https://accounts.google.com', sub: '112233445566778899001' },
        { kind: 'application', subject: '112233445566778899001', clientId: '112233445566778899001' }],
      ['a user\'s ID token', { aud: 'https://reports.example.com', azp: '407408718192.apps.googleusercontent.com', email: 'alice@example.com', email_verified: true, hd: 'example.com', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', exp, iat, iss: 'https://accounts.google.com', sub: '110169484474386276334' },
        { kind: 'user', subject: '110169484474386276334', clientId: '407408718192.apps.googleusercontent.com' }],
      ['an ID token for another audience', { aud: '407408718192.apps.googleusercontent.com', azp: '407408718192.apps.googleusercontent.com', email: 'alice@example.com', exp, iat, iss: 'https://accounts.google.com', sub: '110169484474386276334' }, 401]
    ]
  },
  // ZITADEL "Claims in ZITADEL": JWT access tokens carry jti and client_id (ID tokens do not), roles under urn:zitadel:iam:org:project:roles.
  zitadel: {
    issuer: 'https://acme-x1y2z3.zitadel.cloud',
    audience: '245678901234567890',
    typ: 'JWT',
    alg: 'RS256',
    tokens: [
      ['a user token', { iss: 'https://acme-x1y2z3.zitadel.cloud', sub: '245699112233445566', aud: ['245678901234567890', '245678999999999999@reports'], exp, iat, nbf: iat, jti: 'V2_245699_at_245700', client_id: '245678999999999999@reports', 'urn:zitadel:iam:org:project:roles': { editor: { '245600000000000001': 'acme.zitadel.cloud' } }, 'urn:zitadel:iam:org:project:245678901234567890:roles': { editor: { '245600000000000001': 'acme.zitadel.cloud' }, viewer: { '245600000000000001': 'acme.zitadel.cloud' } } },
        { kind: 'user', subject: '245699112233445566', clientId: '245678999999999999@reports', roles: ['editor', 'viewer'] }],
      ['an ID token (no jti, no client_id, amr)', { iss: 'https://acme-x1y2z3.zitadel.cloud', sub: '245699112233445566', aud: ['245678901234567890'], exp, iat, auth_time: iat, amr: ['pwd'], azp: '245678999999999999@reports', sid: 'V1_2456', preferred_username: 'alice' }, 401]
    ]
  }
}

async function presetApp (t: Test, preset: PresetName, fixture: Fixture, key: FakeIssuer): Promise<Awaited<ReturnType<typeof resourceApp>>> {
  const jwksUri = `${fixture.issuer.replace(/\/$/, '')}/keys-of-${preset}`
  const app = await resourceApp({
    resource: 'https://reports.example.com',
    issuers: [{ issuer: fixture.issuer, preset, audience: fixture.audience, jwksUri }],
    // Every key request of these real issuer URLs goes to the loopback key server.
    fetch: async (url, init) => {
      t.equal(String(url), jwksUri, 'only the configured key URL is fetched')
      return await fetch(`${key.issuer}/jwks`, init)
    }
  })
  await app.register(rbac, { roles: { editor: { permissions: ['reports:read'] }, 'report-admin': { permissions: ['reports:*'] }, Editors: { permissions: ['reports:read'] } } })
  t.teardown(() => app.close())
  return app
}

for (const [preset, fixture] of Object.entries(FIXTURES) as Array<[PresetName, Fixture]>) {
  t.test(`preset ${preset}`, async (t) => {
    const key = await startFakeIssuer({ keys: [await fakeKey(`${preset}-key-1`, fixture.alg)] })
    t.teardown(key.close)
    const app = await presetApp(t, preset, fixture, key)
    for (const [what, payload, expected] of fixture.tokens) {
      const token = await key.sign(payload, { typ: fixture.typ })
      const res = await app.inject({ url: '/me', headers: bearer(token) })
      if (typeof expected === 'number') {
        t.equal(res.statusCode, expected, `${what} is refused`)
        continue
      }
      t.equal(res.statusCode, 200, `${what}: ${res.body}`)
      const caller = res.json()
      // Every field exactly (arrays too, not as a prefix).
      for (const [field, value] of Object.entries({ strategy: 'resourceServer', issuer: fixture.issuer, ...expected })) t.same(caller[field], value, `${what}: ${field}`)
    }
  })
}

t.test('presets whose provider emits no at+jwt still refuse ID tokens by their claims; a configured requireTyp: true is enforced', async (t) => {
  const fixture = FIXTURES.keycloak
  const key = await startFakeIssuer({ keys: [await fakeKey('kc', 'RS256')] })
  t.teardown(key.close)
  const app = await resourceApp({
    resource: 'https://reports.example.com',
    issuers: [{ issuer: fixture.issuer, preset: 'keycloak', audience: 'reports-api', requireTyp: true, jwksUri: `${fixture.issuer}/protocol/openid-connect/certs` }],
    fetch: async (_url, init) => await fetch(`${key.issuer}/jwks`, init)
  })
  t.teardown(() => app.close())
  const payload = fixture.tokens[0]?.[1] as JWTPayload
  t.equal((await app.inject({ url: '/me', headers: bearer(await key.sign(payload, { typ: 'JWT' })) })).statusCode, 401)
  t.equal((await app.inject({ url: '/me', headers: bearer(await key.sign(payload, { typ: 'at+jwt' })) })).statusCode, 200)
})

t.test('an issuer URL that cannot be the preset\'s provider fails the start-up with what to write', async (t) => {
  const rows: Array<[PresetName, string, RegExp]> = [
    ['auth0', 'https://example-tenant.eu.auth0.com', /Auth0 issuers end with '\/': use 'https:\/\/example-tenant\.eu\.auth0\.com\/'/],
    ['keycloak', 'https://sso.example.com/auth', /realm's URL/],
    ['entra', 'https://login.microsoftonline.com/common/v2.0', /multi-tenant endpoints/],
    ['cognito', 'https://cognito.example.com/pool', /cognito-idp\.<region>/],
    ['google', 'https://www.google.com', /https:\/\/accounts\.google\.com/]
  ]
  for (const [preset, issuer, message] of rows) {
    await t.rejects(resourceApp({ issuers: [{ issuer, preset, jwksUri: 'https://keys.example.com/jwks' }] }), { code: 'GK_CONFIG', message }, preset)
  }
})

t.test('an issuer\'s claims function adjusts the preset\'s reading; one that throws or answers a wrong shape refuses the token and is reported', async (t) => {
  const key = await startFakeIssuer({ keys: [await fakeKey('a0', 'RS256')] })
  t.teardown(key.close)
  const fixture = FIXTURES.auth0
  const events: unknown[] = []
  let mode: 'ok' | 'throw' | 'bad' = 'ok'
  const app = await resourceApp({
    resource: 'https://reports.example.com',
    issuers: [{
      issuer: fixture.issuer,
      preset: 'auth0',
      audience: fixture.audience,
      jwksUri: 'https://example-tenant.eu.auth0.com/.well-known/jwks.json',
      claims (claims, mapped) {
        if (mode === 'throw') throw new Error('no tenant')
        if (mode === 'bad') return { roles: 'admin' as unknown as string[] }
        // A namespaced custom claim set by an Auth0 Action.
        return { roles: [...mapped.roles, ...(claims['https://reports.example.com/roles'] as string[])] }
      }
    }],
    fetch: async (_url, init) => await fetch(`${key.issuer}/jwks`, init)
  })
  t.teardown(() => app.close())
  app.gatekeeper.on('resource.claims_mapping_failed', (e) => { events.push(e) })
  const payload = { ...fixture.tokens[0]?.[1], 'https://reports.example.com/roles': ['editor'] }
  const ok = await app.inject({ url: '/me', headers: bearer(await key.sign(payload, { typ: 'JWT' })) })
  t.same(ok.json().roles, ['editor'])
  t.same(ok.json().permissions, ['read:reports', 'write:reports'], 'the token\'s own permissions (no rbac plugin here)')
  mode = 'throw'
  t.equal((await app.inject({ url: '/me', headers: bearer(await key.sign({ ...payload, jti: 'b' }, { typ: 'JWT' })) })).statusCode, 401)
  mode = 'bad'
  t.equal((await app.inject({ url: '/me', headers: bearer(await key.sign({ ...payload, jti: 'c' }, { typ: 'JWT' })) })).statusCode, 401)
  t.match(events, [{ type: 'resource.claims_mapping_failed', issuer: fixture.issuer, cause: 'Error: no tenant' }])
})
