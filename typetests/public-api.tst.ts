import Fastify, { type FastifyContextConfig, type FastifyRequest } from 'fastify'
import { expect, test } from 'tstyche'
import {
  apiKey, errors, gatekeeper, gatekeeperOpenApi, jwt, rbac, refresh, versioning,
  type AccountTokenRepository, type AuthContext, type GatekeeperStore, type IdentityRepository, type OAuthClientRepository, type RouteAuthConfig, type RouteAuthRequirement, type RouteProtection, type RouteRequirement, type UserRecord
} from 'fastify-gatekeeper'
import accountsDefault, { accounts, nodemailerSender, type AccountMail, type AccountsApi, type SendMail } from 'fastify-gatekeeper/accounts'
import { oauth2 } from 'fastify-gatekeeper/oauth2'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { createTestApiKey, createTestTokens } from 'fastify-gatekeeper/testing'

declare module 'fastify-gatekeeper' {
  interface GatekeeperUser { tenant: string }
  interface AuditEvents { 'invoice.paid': { invoiceId: string } }
}

const app = Fastify()

test('request.auth and request.can are declared', () => {
  app.get('/x', async (request: FastifyRequest) => {
    expect(request.auth).type.toBe<AuthContext | null>()
    expect(request.can('posts:read')).type.toBe<boolean>()
    expect(request.can('posts:update', 'owner-id')).type.toBe<boolean>()
    expect(request.auth?.claims?.tenant).type.toBe<string | undefined>()
    return 'ok'
  })
})

test('audit events are typed by name; a misspelt event is an error', () => {
  app.gatekeeper.on('login.failure', (e) => {
    expect(e.type).type.toBe<'login.failure'>()
    expect(e.userId).type.toBe<string | null>()
    expect(e.time).type.toBe<Date>()
  })
  app.gatekeeper.on('apikey.created', (e) => {
    expect(e.keyId).type.toBe<string>()
  })
  app.gatekeeper.on('audit', (e) => {
    if (e.type === 'token.refreshed') expect(e.familyId).type.toBe<string>()
  })
  expect(app.gatekeeper.on).type.not.toBeCallableWith('login.fialure', () => {})
  expect(app.gatekeeper.record).type.not.toBeCallableWith({ type: 'login.fialure' })
  expect(app.gatekeeper.record).type.toBeCallableWith({ type: 'apikey.revoked', outcome: 'success', keyId: 'k1' })
  expect(app.gatekeeper.record).type.not.toBeCallableWith({ type: 'apikey.revoked', outcome: 'success' })
  expect(app.gatekeeper.record).type.toBeCallableWith({ type: 'invoice.paid', invoiceId: 'i1' })
  app.gatekeeper.on('invoice.paid', (e) => { expect(e.invoiceId).type.toBe<string>() })
})

test('config.auth accepts its four forms and refuses others', () => {
  expect(app.get).type.toBeCallableWith('/a', { config: { auth: false } }, async () => 'a')
  expect(app.get).type.toBeCallableWith('/b', { config: { auth: 'jwt' } }, async () => 'b')
  expect(app.get).type.toBeCallableWith('/c', { config: { auth: ['jwt', 'apiKey'] } }, async () => 'c')
  expect(app.get).type.toBeCallableWith('/d', {
    config: { auth: { strategies: ['jwt'], permissions: ['posts:update'], owner: (req: FastifyRequest) => (req.params as { id: string }).id } }
  }, async () => 'd')
  expect<FastifyContextConfig['auth']>().type.toBe<RouteAuthConfig | undefined>()
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom(true)
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ permissions: 'posts:read' })
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ strategy: 'jwt' })
  expect<RouteAuthConfig>().type.toBeAssignableFrom({ kind: 'user' as const })
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ kind: 'robot' as const })
})

test('config.auth.anyOf takes alternatives of roles, permissions and scopes', () => {
  expect(app.post).type.toBeCallableWith('/e', {
    config: { auth: { anyOf: [{ permissions: ['reports:write'] }, { scopes: ['reports:write'] }] } }
  }, async () => 'e')
  expect<RouteAuthConfig>().type.toBeAssignableFrom({ roles: ['staff'], anyOf: [{ roles: ['admin'] }, { permissions: ['a:b'], scopes: ['a:b'] }] })
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ anyOf: [{ strategies: ['jwt'] }] })
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ anyOf: [{ scopes: 'a:b' }] })
  expect<RouteAuthConfig>().type.not.toBeAssignableFrom({ anyOf: { scopes: ['a:b'] } })
  expect<RouteProtection['anyOf']>().type.toBe<readonly RouteRequirement[]>()
  expect<RouteProtection['early']>().type.toBe<boolean>()
  expect<RouteRequirement>().type.toBe<{ roles: readonly string[], permissions: readonly string[], scopes: readonly string[] }>()
  expect<RouteAuthRequirement>().type.toBe<{ roles?: readonly string[], permissions?: readonly string[], scopes?: readonly string[] }>()
})

test('the core and the plugins take their documented options', () => {
  expect(app.register).type.toBeCallableWith(gatekeeper, { store: memoryStore() })
  expect(app.register).type.toBeCallableWith(gatekeeper, { store: sqliteStore({ filename: ':memory:' }), strict: true, defaultAuth: ['jwt'] })
  expect(app.register).type.toBeCallableWith(jwt, { secret: 'x'.repeat(32), issuer: 'i', audience: 'a', accessTokenTtl: '15m' })
  expect(app.register).type.toBeCallableWith(jwt, { secret: 'x'.repeat(32), issuer: 'i', audience: 'a', checkUser: { cacheTtl: '5s' } })
  expect(app.register).type.not.toBeCallableWith(jwt, { secret: 'x'.repeat(32), issuer: 'i', audience: 'a', checkUser: 'yes' })
  expect(app.register).type.toBeCallableWith(jwt, { secret: 'x'.repeat(32), issuer: 'i', audience: 'a', clientId: 'web-app' })
  expect(app.register).type.toBeCallableWith(jwt, { keys: [{ kid: 'a', algorithm: 'EdDSA', privateKey: 'pem', publicKey: 'pem' }], nextKeys: [{ kid: 'b', algorithm: 'EdDSA', publicKey: 'pem' }], issuer: 'i', audience: 'a' })
  expect(app.register).type.toBeCallableWith(refresh, { ttl: '30d', idleTtl: '7d', transport: 'body' })
  expect(app.register).type.toBeCallableWith(apiKey, { prefix: 'gk', header: 'x-api-key' })
  expect(app.register).type.toBeCallableWith(rbac, { roles: { admin: { permissions: ['*'] }, user: { inherits: [], permissions: ['posts:read'] } } })
  expect(app.register).type.toBeCallableWith(versioning, { prefix: '/api', versions: { v1: { deprecated: '2026-06-01', sunset: '2027-06-01', successor: 'v2' }, v2: {} } })
})

test('the oauth2 plugin takes its options, and its repositories are optional parts of the store', () => {
  expect(app.register).type.toBeCallableWith(oauth2, { pepper: 'x'.repeat(32), clientCredentials: { path: '/oauth/token' } })
  expect(app.register).type.toBeCallableWith(oauth2, { providers: { corp: { issuer: 'https://sso.example', clientId: 'c' } }, redirectBase: 'https://app.example', stateSecret: 'x'.repeat(32), allowSignup: true })
  expect(app.register).type.not.toBeCallableWith(oauth2, { clients: {} })
  expect<GatekeeperStore['oauthClients']>().type.toBe<OAuthClientRepository | undefined>()
  expect<GatekeeperStore['identities']>().type.toBe<IdentityRepository | undefined>()
  expect(memoryStore().identities?.find('https://sso.example', 'sub')).type.toBe<ReturnType<IdentityRepository['find']> | undefined>()
  expect<UserRecord['emailVerifiedAt']>().type.toBe<Date | null | undefined>()
  app.post('/link', async (request, reply) => {
    expect(app.gatekeeper.oauth2!.link('google', request, reply)).type.toBe<Promise<{ url: string }>>()
    return 'ok'
  })
})

test('the jwt plugin tells checkUser of sessions ended elsewhere', () => {
  expect(app.gatekeeper.jwt.endSessions).type.toBeCallableWith({ userId: 'u1' })
  expect(app.gatekeeper.jwt.endSessions).type.toBeCallableWith({ sessionId: 'f1' })
  expect(app.gatekeeper.jwt.endSessions).type.not.toBeCallableWith({})
})

test('tokens.issue takes the read-only roles of request.auth, or a user record', () => {
  const auth: AuthContext = { strategy: 'jwt', kind: 'user', subject: 'u1', roles: ['editor'], permissions: [] }
  expect(app.gatekeeper.tokens.issue).type.toBeCallableWith({ id: auth.subject, roles: auth.roles })
  expect(app.gatekeeper.tokens.issue).type.toBeCallableWith({ id: 'u1', roles: ['user'], username: 'ada' })
  expect(app.gatekeeper.tokens.issue).type.not.toBeCallableWith({ id: 'u1' })
})

test('the accounts plugin takes its options; send and the adapter are typed; its repository is an optional part of the store', () => {
  const send: SendMail = (mail) => { expect(mail).type.toBe<AccountMail>() }
  expect(app.register).type.toBeCallableWith(accounts, { send, origin: 'https://app.example' })
  expect(app.register).type.toBeCallableWith(accounts, {
    send,
    origin: 'https://app.example',
    pages: { resetPassword: '/reset' },
    ttl: { passwordReset: '15m' },
    limits: { perAccount: { max: 2, window: '1h' } },
    requireVerifiedEmail: { role: 'unverified' },
    routes: false
  })
  expect(app.register).type.not.toBeCallableWith(accounts, { origin: 'https://app.example' })
  expect(app.register).type.not.toBeCallableWith(accounts, { send, origin: 'https://app.example', requireVerifiedEmail: true })
  expect(accountsDefault).type.toBe<typeof accounts>()
  expect(nodemailerSender({ transport: { host: 'smtp.example' }, from: 'a@example.org' })).type.toBe<Promise<SendMail>>()
  expect<AccountMail['kind']>().type.toBe<'password_reset' | 'password_changed' | 'email_verification' | 'email_change' | 'email_changed'>()
  expect(app.gatekeeper.accounts).type.toBe<AccountsApi>()
  expect<GatekeeperStore['accountTokens']>().type.toBe<AccountTokenRepository | undefined>()
  expect(app.gatekeeper.jwt.addRoleFilter).type.toBeCallableWith((_user: unknown, roles: readonly string[]) => roles)
})

test('the decorators are typed', () => {
  expect(app.gatekeeper.store).type.toBe<GatekeeperStore>()
  expect(app.gatekeeper.routes()).type.toBe<RouteProtection[]>()
  expect(app.gatekeeper.publicPrefix).type.toBeCallableWith('/docs')
  expect(app.gatekeeper.challengeFor(null, 'insufficient_scope')).type.toBe<string>()
  expect(app.gatekeeper.on('anomaly', () => {})).type.toBe<() => void>()
  expect(app.gatekeeper.users.create({ username: 'a', password: 'b', roles: [] })).type.toBe<ReturnType<typeof app.gatekeeper.users.create>>()
  expect(app.gatekeeper.apiKeys.revoke).type.toBeCallableWith('key-id')
})

test('errors are matched by code', () => {
  const err = new errors.GK_FORBIDDEN()
  expect(err.code).type.toBe<'GK_FORBIDDEN'>()
  expect(err.statusCode).type.toBe<403>()
})

test('testing helpers and OpenAPI helper are typed', () => {
  expect(createTestTokens(app, { sub: 'u' })).type.toBe<Promise<{ accessToken: string, authorization: string, headers: { authorization: string } }>>()
  expect(createTestApiKey).type.toBeCallableWith(app, { ownerId: 'o', scopes: ['a:read'] })
  expect(gatekeeperOpenApi(app, { openapi: { info: { title: 't', version: '1' } } })).type.toBe<{ openapi: { info: { title: string, version: string } } }>()
})
