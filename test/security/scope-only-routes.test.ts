import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { oauth2 } from '../../lib/oauth2/index.js'
import type { AuthContext } from '../../lib/core/types.js'
import { auditSweep, bearer, PASSWORD, remember, runRows, securityApp, type Row } from './helpers.js'

// The attack: a route protected only by `scopes` (the machine-route recipe)
// let in any logged-in person, because a credential without scopes skipped
// the scope check. A credential that carries no scopes holds no scope.

let handled = 0
const ok = async (): Promise<{ ok: true }> => { handled++; return { ok: true } }

const { app } = await securityApp({
  apiKey: {},
  jwt: { routes: { register: true } },
  rbac: { roles: { admin: { inherits: ['user'], permissions: ['*'] }, analyst: { inherits: ['user'], permissions: ['reports:*'] }, user: { permissions: ['notes:read', 'apikeys:create'] } } },
  async setup (app: FastifyInstance) {
    await app.register(oauth2, { clientCredentials: { path: '/api/oauth/token' } })
    // The docs/oauth2.md recipe for machine routes.
    app.post('/api/reports', { config: { auth: { strategies: ['jwt'], scopes: ['reports:write'] } } }, ok)
    app.get('/api/scoped', { config: { auth: { scopes: ['reports:read'] } } }, ok)
    // People by permission or applications by scope, said explicitly.
    app.put('/api/reports/:id', { config: { auth: { anyOf: [{ permissions: ['reports:write'] }, { scopes: ['reports:write'] }] } } }, ok)
    // A third-party strategy whose applications forget their scopes.
    app.gatekeeper.registerStrategy({
      name: 'legacy',
      scheme: 'Legacy',
      authenticate: (req) => req.headers['x-legacy'] === undefined
        ? null
        : { strategy: 'legacy', kind: 'application', subject: String(req.headers['x-legacy']), roles: ['admin'], permissions: app.gatekeeper.permissionsOf(['admin']) }
    })
    app.get('/api/notes', { config: { auth: { permissions: ['notes:read'] } } }, ok)
    app.get('/api/analysts', { config: { auth: { roles: ['analyst'] } } }, ok)
    // A strategy whose callers have no roles list at all.
    app.gatekeeper.registerStrategy({
      name: 'bare',
      scheme: 'Bare',
      authenticate: (req) => req.headers['x-bare'] === undefined ? null : { strategy: 'bare', kind: 'user', subject: 'b' } as unknown as AuthContext
    })
  }
})
t.teardown(() => app.close())

// A stranger registers through the open registration route and logs in.
const reg = await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'stranger', password: PASSWORD } })
const stranger = remember((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'stranger', password: PASSWORD } })).json().accessToken as string)
const analystId = (await app.gatekeeper.users.create({ username: 'ana', password: PASSWORD, roles: ['analyst'] })).id
const analyst = remember((await app.gatekeeper.tokens!.issue({ id: analystId, roles: ['analyst'] })).accessToken)
const writer = await app.gatekeeper.oauth2!.clients.create({ name: 'report writer', scopes: ['reports:read', 'reports:write'] })
const reader = await app.gatekeeper.oauth2!.clients.create({ name: 'report reader', scopes: ['reports:read'] })
remember(writer.secret)
remember(reader.secret)
const clientToken = async (c: { id: string, secret: string }): Promise<string> => {
  const res = await app.inject({ method: 'POST', url: '/api/oauth/token', headers: { authorization: `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' })
  return remember(res.json().access_token as string)
}
const writerToken = await clientToken(writer)
const readerToken = await clientToken(reader)
const analystKey = remember((await app.gatekeeper.apiKeys.create({ ownerId: analystId, name: 'reports job', scopes: ['reports:write'] })).key)

const forbidden = (name: string, cite: string, req: Row['req']): Row => ({ name, cite, req, status: 403, code: 'GK_FORBIDDEN', challenge: 'insufficient_scope' })

t.test('scope-only routes: a person\'s session, which carries no scope, is refused (table)', async (t) => {
  t.equal(reg.statusCode, 201, 'open registration works (the attacker\'s way in)')
  const before = handled
  await runRows(t, app, [
    forbidden('a freshly registered user POSTs a route that asks only for a scope', 'issue: scope-only routes; RFC 6749 §3.3; ASVS 4.1.3', { method: 'POST', url: '/api/reports', headers: bearer(stranger) }),
    forbidden('a user holding reports:* as a permission calls a scope-only route', 'scopes are the credential\'s, not the person\'s; ASVS 4.1.3', { method: 'POST', url: '/api/reports', headers: bearer(analyst) }),
    forbidden('a user on a scope-only route open to every strategy', 'API5:2023 BFLA', { url: '/api/scoped', headers: bearer(stranger) }),
    forbidden('a client without the route\'s scope', 'RFC 6749 §3.3', { method: 'POST', url: '/api/reports', headers: bearer(readerToken) }),
    forbidden('a user without the permission on an anyOf route', 'anyOf: neither alternative holds', { method: 'PUT', url: '/api/reports/1', headers: bearer(stranger) }),
    forbidden('a client without the scope on an anyOf route', 'anyOf: neither alternative holds', { method: 'PUT', url: '/api/reports/1', headers: bearer(readerToken) }),
    forbidden('an application of a strategy that gives no scopes, on a permission route', 'fail closed: an application without scopes holds none', { url: '/api/notes', headers: { 'x-legacy': 'svc' } }),
    forbidden('a caller whose strategy gives no roles list, on a role route', 'fail closed: no roles, no role', { url: '/api/analysts', headers: { 'x-bare': '1' } }),
    { name: 'control: a client with the scope on the recipe route', cite: 'RFC 6749 §4.4', req: { method: 'POST', url: '/api/reports', headers: bearer(writerToken) }, status: 200 },
    { name: 'control: a client with the scope on an anyOf route', cite: 'anyOf: the scope alternative', req: { method: 'PUT', url: '/api/reports/1', headers: bearer(writerToken) }, status: 200 },
    { name: 'control: a user with the permission on an anyOf route', cite: 'anyOf: the permission alternative', req: { method: 'PUT', url: '/api/reports/1', headers: bearer(analyst) }, status: 200 },
    { name: 'control: an API key scoped reports:write of an owner who may, on an anyOf route', cite: 'scopes ∩ owner', req: { method: 'PUT', url: '/api/reports/1', headers: { 'x-api-key': analystKey } }, status: 200 },
    { name: 'control: a user on a permission route', cite: 'ASVS 4.1.1', req: { url: '/api/notes', headers: bearer(stranger) }, status: 200 }
  ])
  t.equal(handled, before + 5, 'only the controls reached their handlers')
})

t.test('what is missing goes to the audit trail, the body says nothing', async (t) => {
  const denied: Array<Record<string, unknown>> = []
  const off = app.gatekeeper.on('access.denied', (e) => denied.push(e))
  t.teardown(off)
  await app.inject({ method: 'POST', url: '/api/reports', headers: bearer(stranger) })
  await app.inject({ method: 'PUT', url: '/api/reports/1', headers: bearer(stranger) })
  t.match(denied[0], { route: 'POST /api/reports', missingScopes: ['reports:write'] })
  t.match(denied[1], { route: 'PUT /api/reports/:id', missingAnyOf: [{ missingPermission: 'reports:write' }, { missingScopes: ['reports:write'] }] })
})

t.test('a requirement that asks for nothing is a start-up error, not an open door', async (t) => {
  const rows: Array<[string, unknown, RegExp]> = [
    ['roles: [] (any of none)', { roles: [] }, /config\.auth\.roles must not be empty/],
    ['scopes: []', { strategies: ['jwt'], scopes: [] }, /config\.auth\.scopes must not be empty/],
    ['permissions: []', { permissions: [] }, /config\.auth\.permissions must not be empty/],
    ['anyOf: []', { anyOf: [] }, /config\.auth\.anyOf must be a non-empty array/],
    ['an empty alternative', { anyOf: [{ scopes: ['a:b'] }, {}] }, /config\.auth\.anyOf\[1\] must name roles, permissions or scopes/],
    ['strategies inside an alternative', { anyOf: [{ strategies: ['jwt'], scopes: ['a:b'] }] }, /unknown key config\.auth\.anyOf\[0\]\.strategies/],
    ['an alternative that is not an object', { anyOf: ['a:b'] }, /config\.auth\.anyOf\[0\] must be an object/],
    ['optional with a permission (anonymous callers would pass it)', { optional: true, permissions: ['notes:read'] }, /optional cannot be combined with roles, permissions, scopes or anyOf/],
    ['an owner resolver on a route that asks for no permission (it would restrict nothing)', { roles: ['user'], owner: () => 'u1' }, /config\.auth\.owner decides ':own' grants/]
  ]
  for (const [name, auth, message] of rows) {
    const built = securityApp({ setup: (a) => { a.get('/x', { config: { auth: auth as never } }, ok) } })
    await t.rejects(built, { code: 'GK_CONFIG', message }, name)
  }
  await t.rejects(securityApp({ setup: (a) => { a.get('/x', { config: { auth: { anyOf: [{ roles: ['analist'] }] } } }, ok) } }),
    { code: 'GK_CONFIG', message: /in config\.auth\.anyOf\[0\] requires role 'analist', which is not defined/ }, 'a typo in an alternative\'s role')
})

t.test('routes() shows the alternatives', async (t) => {
  const row = app.gatekeeper.routes().find((r) => r.method === 'PUT' && r.url === '/api/reports/:id')
  t.same(row?.anyOf, [{ roles: [], permissions: ['reports:write'], scopes: [] }, { roles: [], permissions: [], scopes: ['reports:write'] }])
  t.same(app.gatekeeper.routes().find((r) => r.url === '/api/notes')?.anyOf, [])
})

auditSweep(t)
