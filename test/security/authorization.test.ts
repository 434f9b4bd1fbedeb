import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import { auditSweep, bearer, createUser, PASSWORD, remember, runRows, securityApp, type Row } from './helpers.js'

const notes = new Map<string, { owner: string, text: string }>()
let handled = 0

const { app } = await securityApp({
  apiKey: {},
  jwt: { routes: { register: true } },
  setup (app) {
    const ownerOf = (req: { params: unknown }): string | null => notes.get((req.params as { id: string }).id)?.owner ?? null
    app.get('/notes/:id', { config: { auth: { permissions: ['notes:read'] } } }, async (req) => notes.get((req.params as { id: string }).id) ?? null)
    app.put('/notes/:id', { config: { auth: { permissions: ['notes:update'], owner: ownerOf } } }, async () => { handled++; return { updated: true } })
    app.delete('/notes/:id', { config: { auth: { permissions: ['notes:delete'] } } }, async () => { handled++; return { deleted: true } })
    app.get('/admin', { config: { auth: { roles: ['admin'] } } }, async () => { handled++; return { secret: 'admin area' } })
    app.post('/admin/users', { config: { auth: { permissions: ['users:manage'] } } }, async () => { handled++; return { created: true } })
    app.put('/broken/:id', { config: { auth: { permissions: ['notes:update'], owner: () => { throw new Error('the notes database is down') } } } }, async () => { handled++; return { updated: true } })
    app.put('/gone/:id', { config: { auth: { permissions: ['notes:update'], owner: async () => { throw new errors.GK_NOT_FOUND('note') } } } }, async () => { handled++; return { updated: true } })
  }
})
t.teardown(() => app.close())

const alice = await createUser(app, 'alice')
const bob = await createUser(app, 'bob')
const root = await createUser(app, 'root', ['admin'])
notes.set('n1', { owner: alice, text: 'alice' })
notes.set('n2', { owner: bob, text: 'bob' })
const tokenOf = async (id: string, roles: string[]): Promise<string> => remember((await app.gatekeeper.tokens!.issue({ id, roles })).accessToken)
const asAlice = bearer(await tokenOf(alice, ['user']))
const asRoot = bearer(await tokenOf(root, ['admin']))
const readKey = remember((await app.gatekeeper.apiKeys.create({ ownerId: alice, name: 'reader', scopes: ['notes:read'] })).key)
const starKey = remember((await app.gatekeeper.apiKeys.create({ ownerId: alice, name: 'everything', scopes: ['*'] })).key)
const bobKey = await app.gatekeeper.apiKeys.create({ ownerId: bob, name: 'bob' })
remember(bobKey.key)

const forbidden = (name: string, cite: string, req: Row['req']): Row => ({ name, cite, req, status: 403, code: 'GK_FORBIDDEN', challenge: 'insufficient_scope' })

t.test('authorization: missing permissions, BOLA and client-supplied roles are refused (table)', async (t) => {
  const before = handled
  const rows: Row[] = [
    { name: 'no credential on a permission route', cite: 'RFC 6750 §3.1; ASVS 4.1.1', req: { url: '/notes/n1' }, status: 401, code: 'GK_UNAUTHORIZED', challenge: null },
    forbidden('a user without notes:delete deletes a note', 'API5:2023 BFLA; RFC 6750 §3.1 insufficient_scope; ASVS 4.1.3', { method: 'DELETE', url: '/notes/n1', headers: asAlice }),
    forbidden('a user calls an admin-only route', 'API5:2023 BFLA; ASVS 4.1.1', { url: '/admin', headers: asAlice }),
    forbidden('a user HEADs an admin-only route', 'API5:2023 (method switching); ASVS 4.1.1', { method: 'HEAD', url: '/admin', headers: asAlice }),
    forbidden('alice updates bob\'s note', 'API1:2023 BOLA; ASVS 4.2.1 (IDOR)', { method: 'PUT', url: '/notes/n2', headers: asAlice, payload: { text: 'pwned' } }),
    forbidden('alice updates a note that does not exist', 'API1:2023 BOLA (no owner, no access)', { method: 'PUT', url: '/notes/n404', headers: asAlice, payload: {} }),
    forbidden('alice claims ownership of bob\'s note in the body', 'API1:2023; API3:2023 mass assignment; ASVS 4.2.1', { method: 'PUT', url: '/notes/n2', headers: asAlice, payload: { owner: alice, ownerId: alice, userId: alice } }),
    forbidden('alice claims ownership of bob\'s note in the query', 'API1:2023; ASVS 4.1.2', { method: 'PUT', url: `/notes/n2?owner=${alice}&ownerId=${alice}`, headers: asAlice, payload: {} }),
    forbidden('a role claimed in request headers', 'ASVS 4.1.2 (attributes not client-controlled); API5:2023', { url: '/admin', headers: { ...asAlice, 'x-role': 'admin', 'x-roles': 'admin', 'x-user-role': 'admin', 'x-forwarded-user': 'root', 'x-original-user': root, 'x-auth-roles': '["admin"]' } }),
    forbidden('a role claimed in the query', 'ASVS 4.1.2; API5:2023', { url: '/admin?role=admin&roles=admin&roles[]=admin&isAdmin=true', headers: asAlice }),
    forbidden('roles and permissions claimed in the body', 'API3:2023 mass assignment; ASVS 4.1.2', { method: 'POST', url: '/admin/users', headers: asAlice, payload: { role: 'admin', roles: ['admin'], permissions: ['*'], isAdmin: true, auth: { roles: ['admin'] } } }),
    forbidden('an API key scoped to notes:read updates alice\'s own note', 'RFC 6749 §3.3 scopes; ASVS 4.1.3 least privilege', { method: 'PUT', url: '/notes/n1', headers: { 'x-api-key': readKey }, payload: {} }),
    forbidden('an API key scoped "*" calls an admin route its owner may not', 'scopes ∩ owner; ASVS 4.1.3; API5:2023', { url: '/admin', headers: { 'x-api-key': starKey } }),
    forbidden('an API key scoped "*" deletes a note its owner may not', 'scopes ∩ owner; ASVS 4.1.3', { method: 'DELETE', url: '/notes/n1', headers: { 'x-api-key': starKey } }),
    forbidden('an API key mints another API key', 'privilege escalation; API5:2023', { method: 'POST', url: '/api/keys', headers: { 'x-api-key': starKey }, payload: { name: 'child' } }),
    forbidden('alice creates a key owned by bob', 'API1:2023; API5:2023', { method: 'POST', url: '/api/keys', headers: asAlice, payload: { name: 'bobs now', ownerId: bob } }),
    forbidden('alice lists bob\'s keys', 'API1:2023 BOLA', { url: `/api/keys?ownerId=${bob}`, headers: asAlice }),
    { name: 'alice revokes bob\'s key: answered like an unknown key', cite: 'API1:2023 BOLA; ASVS 4.2.1 (no id probing)', req: { method: 'DELETE', url: `/api/keys/${bobKey.record.id}`, headers: asAlice }, status: 404, code: 'GK_NOT_FOUND' },
    { name: 'an owner resolver that answers 404 stops the request', cite: 'ASVS 4.1.5 (fail securely)', req: { method: 'PUT', url: '/gone/n1', headers: asAlice, payload: {} }, status: 404, code: 'GK_NOT_FOUND' },
    { name: 'control: alice reads a note', cite: 'ASVS 4.1.1', req: { url: '/notes/n1', headers: asAlice }, status: 200 },
    { name: 'control: alice\'s read-scoped key reads a note', cite: 'ASVS 4.1.1', req: { url: '/notes/n1', headers: { 'x-api-key': readKey } }, status: 200 }
  ]
  await runRows(t, app, rows)
  t.equal(handled, before, 'no refused request reached its handler')
  t.equal(notes.get('n2')?.text, 'bob', 'bob\'s note is untouched')
  t.equal((await app.inject({ method: 'DELETE', url: `/api/keys/${bobKey.record.id}`, headers: asRoot })).statusCode, 204, 'control: an admin (apikeys:manage via *) may revoke it')
})

t.test('the owner\'s own write and an admin\'s write go through (controls for the BOLA rows)', async (t) => {
  const before = handled
  t.equal((await app.inject({ method: 'PUT', url: '/notes/n1', headers: asAlice, payload: {} })).statusCode, 200, 'alice updates her own note')
  t.equal((await app.inject({ method: 'PUT', url: '/notes/n2', headers: asRoot, payload: {} })).statusCode, 200, 'an admin updates any note')
  t.equal(handled, before + 2)
})

t.test('an owner resolver that throws never lets the request through', async (t) => {
  const before = handled
  const res = await app.inject({ method: 'PUT', url: '/broken/n1', headers: asAlice, payload: {} })
  t.ok(res.statusCode >= 400, `refused (${res.statusCode}) [ASVS 4.1.5 fail closed]`)
  t.notOk(res.body.includes('the notes database is down') && res.statusCode === 200, 'no success body')
  t.equal(handled, before, 'the handler did not run')
})

t.test('URL spellings of a protected route never reach its handler without the right (table)', async (t) => {
  const before = handled
  const urls = ['/admin', '/admin/', '/admin?', '/admin#x', '/./admin', '//admin', '/%61dmin', '/ADMIN', '/admin%2f', '/admin;jsessionid=1', '/admin/..;/admin', '/notes/../admin']
  for (const url of urls) {
    for (const [who, headers] of [['anonymous', {}], ['alice', asAlice]] as const) {
      const res = await app.inject({ url, headers })
      t.ok([400, 401, 403, 404].includes(res.statusCode), `${who} GET ${url} → ${res.statusCode} [API5:2023; ASVS 4.1.1 path normalisation]`)
    }
  }
  t.equal(handled, before, 'the admin handler never ran')
})

t.test('registration ignores client-supplied roles', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'eve', password: PASSWORD, roles: ['admin'], role: 'admin', disabled: false, id: root } })
  t.ok([201, 400].includes(res.statusCode), `answered ${res.statusCode} [API3:2023 mass assignment; ASVS 4.1.2]`)
  const eve = await app.gatekeeper.store.users.findByLogin('eve')
  if (res.statusCode === 201) t.same(res.json().roles, ['user'], 'the default roles only')
  t.not(eve?.id, root, 'no chosen id')
  t.notOk(eve?.roles.includes('admin'), 'never admin')
  const login = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'eve', password: PASSWORD } })
  if (login.statusCode === 200) {
    const token = remember(login.json().accessToken as string)
    t.equal((await app.inject({ url: '/admin', headers: bearer(token) })).statusCode, 403, 'eve\'s token opens no admin route')
  }
})

auditSweep(t)
