import t from 'tap'
import { basic, oauthApp, tokenRequest } from './helpers.js'

t.test('a client with Basic credentials gets a Bearer token the jwt strategy takes as an application with its scopes', async (t) => {
  const { app, events } = await oauthApp()
  t.teardown(() => app.close())
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'reporting job', scopes: ['reports:read', 'reports:write'] })
  const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(client.id, client.secret) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.equal(body.scope, 'reports:read reports:write', 'all of the client\'s scopes by default')

  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.access_token}` } })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { strategy: 'jwt', kind: 'application', subject: client.id, roles: [], permissions: [], scopes: ['reports:read', 'reports:write'] })
  t.equal(me.json().claims.client_id, client.id, 'the token names its client (RFC 9068 client_id)')
  const reports = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${body.access_token}` } })
  t.equal(reports.statusCode, 200, 'a route requiring a granted scope lets it in')

  const issued = events.filter((e) => e.type === 'oauth.token_issued')
  t.equal(issued.length, 1)
  t.match(issued[0], { outcome: 'success', subject: client.id, clientId: client.id, scopes: ['reports:read', 'reports:write'] })
  t.notMatch(JSON.stringify(events), client.secret, 'no event carries the secret')
  t.notMatch(JSON.stringify(events), body.access_token, 'no event carries the token')
})

t.test('a client may authenticate with client_id and client_secret in the body', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read'] })
  const res = await tokenRequest(app, { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().scope, 'reports:read')
})

t.test('a client may send its own client_id in the body beside Basic credentials', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read'] })
  const res = await tokenRequest(app, { grant_type: 'client_credentials', client_id: client.id }, { authorization: basic(client.id, client.secret) })
  t.equal(res.statusCode, 200, res.body)
})

t.test('a requested scope narrows the token; a narrowed token is refused where another scope is required', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read', 'reports:write'] })
  const res = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'reports:write' }, { authorization: basic(client.id, client.secret) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().scope, 'reports:write')
  const reports = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${res.json().access_token}` } })
  t.equal(reports.statusCode, 403)
  t.equal(reports.json().code, 'GK_FORBIDDEN')
})

t.test('bad token requests get RFC 6749 §5.2 errors with a GK_ code, never a token', async (t) => {
  const { app, events } = await oauthApp()
  t.teardown(() => app.close())
  const clients = app.gatekeeper.oauth2!.clients
  const client = await clients.create({ name: 'job', scopes: ['reports:read'] })
  const revoked = await clients.create({ name: 'old job', scopes: ['reports:read'] })
  await clients.revoke(revoked.id)
  const good = basic(client.id, client.secret)
  const cc = { grant_type: 'client_credentials' }
  const rows: Array<[string, Record<string, string>, Record<string, string>, number, string, string]> = [
    ['no client authentication', cc, {}, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['a wrong secret (Basic)', cc, { authorization: basic(client.id, client.secret.slice(0, -1) + (client.secret.endsWith('x') ? 'y' : 'x')) }, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['a wrong secret (body)', { ...cc, client_id: client.id, client_secret: 'nope' }, {}, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['an unknown client', cc, { authorization: basic('cid_unknown', client.secret) }, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['a revoked client with its right secret', cc, { authorization: basic(revoked.id, revoked.secret) }, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['an empty secret', { ...cc, client_id: client.id, client_secret: '' }, {}, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['a secret too long to look at', { ...cc, client_id: client.id, client_secret: 'a'.repeat(300) }, {}, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['client_id without client_secret', { ...cc, client_id: client.id }, {}, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['Basic without a colon', cc, { authorization: 'Basic ' + Buffer.from('justanid').toString('base64') }, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['Basic that is not base64', cc, { authorization: 'Basic !!!' }, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['Basic with bad percent-encoding', cc, { authorization: 'Basic ' + Buffer.from('%zz:%zz').toString('base64') }, 401, 'invalid_client', 'GK_INVALID_CREDENTIALS'],
    ['no grant_type', {}, { authorization: good }, 400, 'invalid_request', 'GK_INVALID_REQUEST'],
    ['the password grant', { grant_type: 'password', username: 'a', password: 'b' }, { authorization: good }, 400, 'unsupported_grant_type', 'GK_INVALID_REQUEST'],
    ['the authorization_code grant', { grant_type: 'authorization_code', code: 'x' }, { authorization: good }, 400, 'unsupported_grant_type', 'GK_INVALID_REQUEST'],
    ['Basic and client_secret both', { ...cc, client_secret: client.secret }, { authorization: good }, 400, 'invalid_request', 'GK_INVALID_REQUEST'],
    ['a body client_id other than the Basic one', { ...cc, client_id: 'cid_other' }, { authorization: good }, 400, 'invalid_request', 'GK_INVALID_REQUEST'],
    ['a scope the client lacks', { ...cc, scope: 'reports:delete' }, { authorization: good }, 400, 'invalid_scope', 'GK_INVALID_REQUEST'],
    ['one granted and one missing scope', { ...cc, scope: 'reports:read admin:*' }, { authorization: good }, 400, 'invalid_scope', 'GK_INVALID_REQUEST'],
    ['an empty scope', { ...cc, scope: '' }, { authorization: good }, 400, 'invalid_scope', 'GK_INVALID_REQUEST'],
    ['a scope with a quote', { ...cc, scope: 'reports:"read' }, { authorization: good }, 400, 'invalid_scope', 'GK_INVALID_REQUEST'],
    ['a wildcard scope the client was not given', { ...cc, scope: '*' }, { authorization: good }, 400, 'invalid_scope', 'GK_INVALID_REQUEST']
  ]
  for (const [name, form, headers, status, error, code] of rows) {
    const res = await tokenRequest(app, form, headers)
    t.equal(res.statusCode, status, `${name}: status`)
    t.match(res.json(), { error, code }, `${name}: body`)
    t.notOk('access_token' in res.json(), `${name}: no token`)
    t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`)
    if (status === 401) t.equal(res.headers['www-authenticate'], 'Basic realm="api"', `${name}: Basic challenge`)
    else t.notOk(res.headers['www-authenticate'], `${name}: no challenge`)
  }
  const failures = events.filter((e) => e.type === 'oauth.client_auth_failed')
  t.equal(failures.length, rows.filter((r) => r[4] === 'invalid_client').length, 'every client authentication failure is audited')
  t.ok(failures.some((e) => e.clientId === revoked.id), 'the presented client id is recorded')
  t.notMatch(JSON.stringify(events), client.secret, 'no event carries a secret')
  t.notMatch(JSON.stringify(events), revoked.secret, 'no event carries a secret')
})

t.test('every invalid_client answer has the same body, whatever failed', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read'] })
  const bodies = new Set<string>()
  for (const auth of [basic(client.id, 'wrong'), basic('cid_unknown', client.secret), basic(client.id, '')]) {
    bodies.add((await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: auth })).body)
  }
  t.equal(bodies.size, 1)
})

t.test('the token endpoint reads only small form bodies and refuses others as invalid_request', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  const client = await app.gatekeeper.oauth2!.clients.create({ name: 'job', scopes: ['reports:read'] })
  const auth = basic(client.id, client.secret)
  const rows: Array<[string, string, string]> = [
    ['JSON', 'application/json', JSON.stringify({ grant_type: 'client_credentials' })],
    ['plain text', 'text/plain', 'grant_type=client_credentials'],
    ['an oversized form', 'application/x-www-form-urlencoded', 'grant_type=client_credentials&pad=' + 'a'.repeat(5000)],
    ['a repeated parameter', 'application/x-www-form-urlencoded', 'grant_type=client_credentials&grant_type=password']
  ]
  for (const [name, type, payload] of rows) {
    const res = await app.inject({ method: 'POST', url: '/api/oauth/token', headers: { 'content-type': type, authorization: auth }, payload })
    t.equal(res.statusCode, 400, `${name}: status`)
    t.match(res.json(), { error: 'invalid_request', code: 'GK_INVALID_REQUEST' }, name)
    t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`)
  }
  const none = await app.inject({ method: 'POST', url: '/api/oauth/token', headers: { authorization: auth } })
  t.equal(none.statusCode, 400, 'no body at all')
  t.match(none.json(), { error: 'invalid_request' })
})

t.test('the form parser and error handler stay on the token endpoint: other routes still take JSON', async (t) => {
  const { app } = await oauthApp()
  t.teardown(() => app.close())
  app.post('/echo', { config: { auth: false } }, async (req) => req.body)
  const json = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })
  t.same(json.json(), { a: 1 })
  const form = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' })
  t.equal(form.statusCode, 415, 'no form parser outside the token endpoint')
  t.equal(form.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
})

t.test('with the jwt plugin\'s checkUser, a revoked client\'s tokens are refused (within cacheTtl); without it they live until exp', async (t) => {
  for (const checked of [true, false]) {
    const { app, clock } = await oauthApp({}, checked ? { checkUser: { cacheTtl: '5s' } } : {})
    t.teardown(() => app.close())
    const clients = app.gatekeeper.oauth2!.clients
    const kept = await clients.create({ name: 'kept', scopes: ['reports:read'] })
    const gone = await clients.create({ name: 'gone', scopes: ['reports:read'] })
    const tokenOf = async (c: { id: string, secret: string }): Promise<string> =>
      (await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) })).json().access_token
    const keptToken = await tokenOf(kept)
    const goneToken = await tokenOf(gone)
    const call = async (token: string): Promise<number> => (await app.inject({ url: '/reports', headers: { authorization: `Bearer ${token}` } })).statusCode
    t.equal(await call(goneToken), 200)
    await clients.revoke(gone.id)
    clock.now += 5000
    const res = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${goneToken}` } })
    if (checked) {
      t.equal(res.statusCode, 401, 'checkUser: the revoked client\'s token is refused')
      t.equal(res.json().code, 'GK_TOKEN_INVALID')
    } else {
      t.equal(res.statusCode, 200, 'without checkUser the token lives until it expires')
    }
    t.equal(await call(keptToken), 200, 'another client is not affected')
  }
})
