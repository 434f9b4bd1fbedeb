import Fastify from 'fastify'
import t from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { rbac } from '../../lib/rbac/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { versioning } from '../../lib/versioning/index.js'
import { capture, PASSWORD, WRONG } from './helpers.js'

const NEW_PASSWORD = 'a brand new staple battery horse'

t.test('every flow records its audit event exactly once, and no log line or event carries a secret', async (t) => {
  const { stream, lines } = capture()
  const events: AuditEvent[] = []
  const anomalies: Array<{ type: string }> = []
  const clock = { now: Date.UTC(2030, 0, 1) }
  const app = Fastify({ logger: { level: 'trace', stream } })
  await app.register(gatekeeper, {
    store: memoryStore(),
    now: () => clock.now,
    audit: { onEvent: async (e) => { events.push(e) } },
    bruteForce: { account: { max: 1 } }
  })
  await app.register(jwt, { secret: 'audit-secret-audit-secret-audit-', issuer: 'https://issuer.test', audience: 'api.test', cookie: false })
  await app.register(refresh, {})
  await app.register(apiKey, { routes: false })
  // A permission route needs a permission model; 'user' is not granted admin:everything.
  await app.register(rbac, { roles: { user: { permissions: ['posts:read'] }, admin: { permissions: ['*'] } } })
  await app.register(versioning, { prefix: '/api', versions: { v1: { deprecated: '2026-06-01', sunset: '2027-06-01', successor: 'v2' }, v2: {} } })
  app.get('/api/v1/posts', async () => ['old'])
  app.get('/api/v2/posts', async () => ['new'])
  app.get('/api/v2/admin', { config: { auth: { permissions: ['admin:everything'] } } }, async () => 'secret stuff')
  t.teardown(() => app.close())
  await app.ready()
  app.gatekeeper.on('anomaly', (a) => anomalies.push(a))
  const gk = app.gatekeeper

  const alice = await gk.users!.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  await gk.users!.create({ username: 'bob', password: PASSWORD, roles: ['user'] })
  const ua = { 'user-agent': 'audit-test/1.0' }

  // login.success
  const loggedIn = await app.inject({ method: 'POST', url: '/api/login', headers: ua, payload: { username: 'alice', password: PASSWORD } })
  t.equal(loggedIn.statusCode, 200)
  const { accessToken, refreshToken } = loggedIn.json()
  const bearer = { ...ua, authorization: `Bearer ${accessToken}` }

  // login.failure, and with account.max 1 the same failure locks: login.locked
  t.equal((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'bob', password: WRONG } })).statusCode, 401)
  t.equal((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'bob', password: PASSWORD } })).statusCode, 429, 'a refused attempt records no second event')

  // token.refreshed, then refresh.reuse_detected
  const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken } })
  t.equal(refreshed.statusCode, 200)
  const nextRefresh = refreshed.json().refreshToken
  t.equal((await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken } })).statusCode, 401)

  // password.changed
  const changed = await app.inject({ method: 'POST', url: '/api/password', headers: bearer, payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } })
  t.equal(changed.statusCode, 204)

  // apikey.created, .rotated, .revoked, .used_after_revoke
  const created = await gk.apiKeys!.create({ ownerId: alice.id, name: 'ci', scopes: ['posts:read'] })
  t.equal((await app.inject({ url: '/api/v2/posts', headers: { 'x-api-key': created.key } })).statusCode, 200)
  const rotated = await gk.apiKeys!.rotate(created.record.id, { overlap: 0 })
  await gk.apiKeys!.revoke(rotated.record.id)
  t.equal((await app.inject({ url: '/api/v2/posts', headers: { 'x-api-key': rotated.key } })).statusCode, 401)

  // access.denied
  t.equal((await app.inject({ url: '/api/v2/admin', headers: bearer })).statusCode, 403)
  // version.gone
  t.equal((await app.inject({ url: '/api/v1/posts', headers: bearer })).statusCode, 410)
  // logout
  t.equal((await app.inject({ method: 'POST', url: '/api/logout', headers: bearer })).statusCode, 204)

  const catalogue = [
    'login.success', 'login.failure', 'login.locked', 'token.refreshed', 'refresh.reuse_detected', 'password.changed',
    'apikey.created', 'apikey.rotated', 'apikey.revoked', 'apikey.used_after_revoke', 'access.denied', 'version.gone', 'logout'
  ]
  const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.event !== undefined)
  for (const type of catalogue) {
    t.equal(events.filter((e) => e.type === type).length, 1, `${type}: once to audit.onEvent`)
    const inLog = logged.filter((l) => l.event.type === type)
    t.equal(inLog.length, 1, `${type}: once in the log`)
    t.equal(inLog[0]?.level, 30, `${type}: logged at info`)
  }
  t.equal(events.filter((e) => e.type === 'user.created').length, 2, 'user.created: once per account')

  for (const e of events) {
    t.ok(e.time instanceof Date && e.type.length > 0 && ['success', 'failure', 'info'].includes(e.outcome), `${e.type} has time, type and outcome`)
  }
  for (const e of events.filter((e) => e.requestId !== undefined)) {
    t.equal(e.ip, '127.0.0.1', `${e.type} has the client address`)
    t.type(e.requestId, 'string')
  }
  t.match(events.find((e) => e.type === 'login.success'), { subject: alice.id, userAgent: 'audit-test/1.0' })
  t.match(events.find((e) => e.type === 'login.locked'), { outcome: 'failure', reason: 'GK_ACCOUNT_LOCKED', scope: 'account', lockedFor: 60 })
  t.match(events.find((e) => e.type === 'access.denied'), { subject: alice.id, reason: 'GK_FORBIDDEN' })
  t.match(anomalies, [{ type: 'refresh_reuse' }], 'refresh-token reuse is an anomaly too')

  const secrets = { PASSWORD, NEW_PASSWORD, WRONG, accessToken, refreshToken, nextRefresh, key: created.key, rotatedKey: rotated.key }
  t.ok(lines.length > 30, `the log was captured (${lines.length} lines)`)
  const trail = JSON.stringify(events)
  for (const [name, secret] of Object.entries(secrets)) {
    t.type(secret, 'string')
    t.notOk(lines.some((l) => l.includes(secret)), `no log line contains the ${name}`)
    t.notOk(trail.includes(secret), `no audit event contains the ${name}`)
  }
})
