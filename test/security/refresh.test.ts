import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generateToken } from '../../lib/refresh/token.js'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { auditEvents, auditSweep, bearer, createUser, login, PASSWORD, remember, runRows, securityApp, type Row } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'gk-security-refresh-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const refreshReq = (payload: unknown, headers: Record<string, string> = {}): Row['req'] => ({ method: 'POST', url: '/api/token/refresh', headers, payload: payload as string })
const invalidGrant = (name: string, cite: string, req: Row['req']): Row => ({ name, cite, req, status: 401, code: 'GK_INVALID_GRANT', challenge: 'invalid_token' })

t.test('a rotated refresh token presented again revokes the whole family', async (t) => {
  const { app } = await securityApp({ refresh: { transport: 'body' } })
  t.teardown(() => app.close())
  await createUser(app, 'alice')
  const { body } = await login(app, 'alice')
  const first = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: body.refreshToken } })
  t.equal(first.statusCode, 200, 'the first use rotates')
  const successor = remember(first.json().refreshToken as string)
  remember(first.json().accessToken as string)
  const seen = auditEvents.length
  await runRows(t, app, [
    invalidGrant('the rotated token replayed', 'RFC 9700 §4.14.2 (reuse detection); RFC 6749 §10.4; OWASP API2:2023', refreshReq({ refreshToken: body.refreshToken })),
    invalidGrant('then the legitimate successor (the family is revoked)', 'RFC 9700 §4.14.2', refreshReq({ refreshToken: successor })),
    invalidGrant('and the replay again', 'RFC 9700 §4.14.2', refreshReq({ refreshToken: body.refreshToken }))
  ])
  const events = auditEvents.slice(seen) as Array<{ type: string }>
  t.ok(events.some((e) => e.type === 'refresh.reuse_detected'), 'refresh.reuse_detected is recorded')
  t.ok(events.some((e) => e.type === 'refresh_reuse'), 'and a refresh_reuse anomaly is raised')
  const family = await app.gatekeeper.store.refreshTokens.findFamily(body.sessionId)
  t.match(family, { revokeReason: 'reuse' }, 'the family is revoked for reuse')
})

async function exactlyOnce (t: Test, name: string, store: GatekeeperStore): Promise<void> {
  const { app } = await securityApp({ refresh: { transport: 'body' }, store })
  t.teardown(() => app.close())
  await createUser(app, 'alice')
  const { body } = await login(app, 'alice')
  const results = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: body.refreshToken } })))
  for (const r of results) if (r.statusCode === 200) { remember(r.json().refreshToken); remember(r.json().accessToken) }
  const codes = results.map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 200).length, 1, `${name}: exactly one of 50 concurrent refreshes succeeds [RFC 9700 §4.14.2; race condition CWE-362]`)
  t.equal(codes.filter((c) => c === 401).length, 49, `${name}: the 49 others get 401 invalid_grant`)
}

t.test('50 concurrent refreshes with one token: exactly one success (memory store)', async (t) => {
  await exactlyOnce(t, 'memory', (await import('../../lib/stores/memory.js')).memoryStore())
})

t.test('50 concurrent refreshes with one token: exactly one success (SQLite store)', async (t) => {
  await exactlyOnce(t, 'sqlite', sqliteStore({ filename: join(dir, 'once.db') }))
})

t.test('what is not a live refresh token gets 401 invalid_grant, never a 500 (table)', async (t) => {
  const { app, clock } = await securityApp({ refresh: { transport: 'body' } })
  t.teardown(() => app.close())
  const aliceId = await createUser(app, 'alice')
  await createUser(app, 'bob')
  await createUser(app, 'carol')
  const alice = (await login(app, 'alice')).body
  const loggedOut = (await login(app, 'alice')).body
  const bob = (await login(app, 'bob')).body
  const carol = (await login(app, 'carol')).body
  const idle = (await login(app, 'alice')).body
  await app.inject({ method: 'POST', url: '/api/logout', headers: bearer(loggedOut.accessToken), payload: { refreshToken: loggedOut.refreshToken } })
  await app.gatekeeper.users!.disable((await app.gatekeeper.store.users.findByLogin('carol'))!.id)
  const json = { 'content-type': 'application/json' }
  const rows: Row[] = [
    invalidGrant('an access token in the refresh body', 'RFC 9700 §4.14; token substitution', refreshReq({ refreshToken: alice.accessToken })),
    invalidGrant('an access token in the Authorization header and no refresh token', 'token substitution', refreshReq({}, bearer(alice.accessToken))),
    invalidGrant('an access token in the refresh cookie', 'token substitution', refreshReq({}, { cookie: `__Secure-gk_refresh=${alice.accessToken}` })),
    invalidGrant('a well-formed token that was never issued', 'RFC 6749 §5.2 invalid_grant', refreshReq({ refreshToken: generateToken() })),
    invalidGrant('a refresh token after logout', 'ASVS 3.3.1', refreshReq({ refreshToken: loggedOut.refreshToken })),
    invalidGrant('a refresh token of a disabled user', 'ASVS 3.3.x; API2:2023', refreshReq({ refreshToken: carol.refreshToken })),
    invalidGrant('one character changed', 'RFC 6749 §10.10 (unguessable)', refreshReq({ refreshToken: alice.refreshToken.slice(0, 10) + (alice.refreshToken[10] === 'A' ? 'B' : 'A') + alice.refreshToken.slice(11) })),
    invalidGrant('truncated', 'RFC 6749 §5.2', refreshReq({ refreshToken: alice.refreshToken.slice(0, -1) })),
    invalidGrant('one character appended', 'RFC 6749 §5.2', refreshReq({ refreshToken: `${alice.refreshToken}A` })),
    invalidGrant('its SHA-256 (as stored) sent as the token', 'CWE-256 (the stored hash is not a credential)', refreshReq({ refreshToken: 'a'.repeat(64) })),
    invalidGrant('a number', 'ASVS 5.1.4', refreshReq({ refreshToken: 12345 })),
    invalidGrant('an array holding the genuine token', 'ASVS 5.1.4', refreshReq({ refreshToken: [alice.refreshToken] })),
    invalidGrant('an object', 'NoSQL operator injection', refreshReq({ refreshToken: { $ne: null } })),
    invalidGrant('null', 'ASVS 5.1.4', refreshReq({ refreshToken: null })),
    invalidGrant('an empty string', 'ASVS 5.1.4', refreshReq({ refreshToken: '' })),
    invalidGrant('an empty body', 'RFC 6749 §5.2', { method: 'POST', url: '/api/token/refresh' }),
    invalidGrant('a JSON array body', 'ASVS 5.1.3', refreshReq('[]', json)),
    invalidGrant('the genuine token in the query string', 'RFC 6750 §2.3 / ASVS 3.1.1 (never read from the URL)', { method: 'POST', url: `/api/token/refresh?refreshToken=${alice.refreshToken}&refresh_token=${alice.refreshToken}` }),
    { name: 'invalid JSON', cite: 'ASVS 5.1.3; a stable GK_ code for bad input', req: refreshReq('{"refreshToken": ', json), status: 400, code: 'GK_INVALID_REQUEST' },
    { name: 'a body over the 4 KB limit is refused unread', cite: 'ASVS 13.1 (body limit); RFC 9110 §15.5.14', req: refreshReq({ refreshToken: 'a'.repeat(5000) }), status: 413 },
    { name: 'control: bob\'s genuine token', cite: 'RFC 6749 §6', req: refreshReq({ refreshToken: bob.refreshToken }), status: 200 }
  ]
  await runRows(t, app, rows)
  clock.now += 8 * 86_400_000
  await runRows(t, app, [invalidGrant('a token idle past idleTtl (7 days)', 'ASVS 3.3.2 (idle timeout)', refreshReq({ refreshToken: idle.refreshToken }))])
  t.ok(aliceId.length > 0)
})

t.test('a password change ends every session; another user\'s logout ends none', async (t) => {
  const { app } = await securityApp({ refresh: { transport: 'body' } })
  t.teardown(() => app.close())
  await createUser(app, 'alice')
  await createUser(app, 'bob')
  const a1 = (await login(app, 'alice')).body
  const a2 = (await login(app, 'alice')).body
  const bob = (await login(app, 'bob')).body
  const hijack = await app.inject({ method: 'POST', url: '/api/logout', headers: bearer(bob.accessToken), payload: { refreshToken: a1.refreshToken } })
  t.equal(hijack.statusCode, 204)
  const still = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: a1.refreshToken } })
  t.equal(still.statusCode, 200, 'bob\'s logout did not end alice\'s session [API1:2023]')
  remember(still.json().refreshToken); remember(still.json().accessToken)
  const newPassword = remember(`${PASSWORD}-changed-2`)
  const change = await app.inject({ method: 'POST', url: '/api/password', headers: bearer(a2.accessToken), payload: { currentPassword: PASSWORD, newPassword } })
  t.equal(change.statusCode, 204)
  await runRows(t, app, [
    invalidGrant('a session rotated before the password change', 'ASVS 3.3.3 / 2.x (terminate sessions on password change)', refreshReq({ refreshToken: still.json().refreshToken })),
    invalidGrant('the session the change was made from', 'ASVS 3.3.3', refreshReq({ refreshToken: a2.refreshToken }))
  ])
})

auditSweep(t)
