import t from 'tap'
import { claimsOf, enrol, firstStep, mfaApp, PASSWORD, secretOf, signIn, totpCode } from './helpers.js'

t.test('TOTP enrolment: the otpauth URI and a QR code once, confirmed by a first code, then ten recovery codes', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { token } = await signIn(app)
  const auth = { authorization: `Bearer ${token}` }
  const started = await app.inject({ method: 'POST', url: '/api/mfa/totp', headers: auth })
  t.equal(started.statusCode, 201)
  t.equal(started.headers['cache-control'], 'no-store')
  const { uri, qrCode } = started.json()
  t.match(uri, /^otpauth:\/\/totp\/issuer\.test:alice\?/)
  const url = new URL(uri)
  t.equal(url.searchParams.get('algorithm'), 'SHA1')
  t.equal(url.searchParams.get('digits'), '6')
  t.equal(url.searchParams.get('period'), '30')
  t.match(secretOf(uri), /^[A-Z2-7]{32}$/, '160 bits of base32')
  t.match(qrCode, /^data:image\/png;base64,/)
  const stored = (await app.gatekeeper.store.mfaFactors?.listByUser((await app.gatekeeper.store.users.findByLogin('alice'))?.id as string)) ?? []
  t.equal(stored.length, 1)
  t.match(stored[0]?.secret, /^k1:/, 'sealed with the key named k1')
  t.notMatch(stored[0]?.secret, secretOf(uri), 'never in the clear')

  t.equal((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })).json().status, undefined, 'an unconfirmed factor does not count')
  const wrong = await app.inject({ method: 'POST', url: '/api/mfa/totp/confirm', headers: auth, payload: { code: totpCode(secretOf(uri), clock.now, 5) } })
  t.match(wrong, { statusCode: 401 })
  t.equal(wrong.json().code, 'GK_INVALID_CREDENTIALS')
  const ok = await app.inject({ method: 'POST', url: '/api/mfa/totp/confirm', headers: auth, payload: { code: totpCode(secretOf(uri), clock.now) } })
  t.equal(ok.statusCode, 200)
  const codes: string[] = ok.json().recoveryCodes
  t.equal(codes.length, 10)
  t.equal(new Set(codes).size, 10)
  for (const c of codes) t.match(c, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/)
  const again = await app.inject({ method: 'POST', url: '/api/mfa/totp', headers: auth })
  t.match(again.json(), { statusCode: 409, code: 'GK_CONFLICT' }, 'a second authenticator while one is set up')
  const listed = await app.inject({ url: '/api/mfa', headers: auth })
  t.match(listed.json(), { enrolled: ['totp', 'recovery'], factors: { totp: { name: 'authenticator' }, recovery: { remaining: 10 } } })
})

t.test('two-step login: mfa_required with a challenge, then a code completes it through completeLogin with amr and auth_time', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { secret } = await enrol(app, clock)
  const first = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(first.statusCode, 200)
  const body = first.json()
  t.same(Object.keys(body).sort(), ['challenge', 'expiresIn', 'methods', 'status'])
  t.match(body, { status: 'mfa_required', methods: ['totp', 'recovery'], expiresIn: 300 })
  t.match(body.challenge, /^[A-Za-z0-9_-]{43}$/)
  t.equal(first.headers['cache-control'], 'no-store')
  const done = await app.inject({ method: 'POST', url: '/api/login/mfa', payload: { challenge: body.challenge, code: totpCode(secret, clock.now) } })
  t.equal(done.statusCode, 200)
  const tokens = done.json()
  t.match(tokens, { tokenType: 'Bearer', expiresIn: 900 })
  t.type(tokens.refreshToken, 'string', 'the refresh plugin opened a session, as for any login')
  const c = claimsOf(tokens.accessToken)
  t.same(c.amr, ['pwd', 'otp', 'mfa'])
  t.equal(c.auth_time, Math.floor(clock.now / 1000))
  const admin = await app.inject({ url: '/admin', headers: { authorization: `Bearer ${tokens.accessToken}` } })
  t.equal(admin.statusCode, 200, 'a route that needs a second factor lets it in')

  clock.now += 10 * 60_000
  const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: tokens.refreshToken } })
  t.equal(refreshed.statusCode, 200)
  const rc = claimsOf(refreshed.json().accessToken)
  t.same(rc.amr, ['pwd', 'otp', 'mfa'], 'a refreshed token keeps how the session authenticated')
  t.equal(rc.auth_time, c.auth_time, 'and when')
})

t.test('a user without a factor logs in with the password alone: amr pwd; the second-factor route answers the RFC 9470 challenge', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { token } = await signIn(app)
  t.same(claimsOf(token).amr, ['pwd'])
  t.equal(claimsOf(token).auth_time, Math.floor(clock.now / 1000))
  const res = await app.inject({ url: '/admin', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GK_INSUFFICIENT_AUTHENTICATION')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"')
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200, 'other routes are not affected')
})

t.test('max age: an old login gets max_age in the challenge; a step-up with the password renews auth_time in the same session', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { token, refreshToken } = await signIn(app)
  const auth = { authorization: `Bearer ${token}` }
  t.equal((await app.inject({ url: '/recent', headers: auth })).statusCode, 200)
  clock.now += 5 * 60_000 + 1000
  const old = await app.inject({ url: '/recent', headers: auth })
  t.equal(old.statusCode, 401)
  t.match(old.headers['www-authenticate'], /error="insufficient_user_authentication".*, max_age=300$/)
  t.notMatch(old.headers['www-authenticate'], /acr_values/)
  const stepped = await app.inject({ method: 'POST', url: '/api/login/step-up', headers: auth, payload: { password: PASSWORD } })
  t.equal(stepped.statusCode, 200)
  t.equal(stepped.json().refreshToken, undefined, 'no new session')
  const fresh = stepped.json().accessToken
  t.equal(claimsOf(fresh).auth_time, Math.floor(clock.now / 1000))
  t.equal((await app.inject({ url: '/recent', headers: { authorization: `Bearer ${fresh}` } })).statusCode, 200)
  const wrong = await app.inject({ method: 'POST', url: '/api/login/step-up', headers: auth, payload: { password: 'not it at all' } })
  t.match(wrong.json(), { statusCode: 401, code: 'GK_INVALID_CREDENTIALS' })
  const bare = await app.inject({ method: 'POST', url: '/api/login/step-up', headers: auth, payload: {} })
  t.match(bare.json(), { statusCode: 400, code: 'GK_INVALID_REQUEST' }, 'no factor, no password: nothing to step up with')
  t.equal((await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken } })).statusCode, 200, 'the session lives on')
})

t.test('step-up to a second factor: a password-only session enrols, steps up with a code, and its session remembers it', async (t) => {
  const { app, clock } = await mfaApp({ core: {} })
  t.teardown(() => app.close())
  const { token, secret } = await enrol(app, clock)
  const auth = { authorization: `Bearer ${token}` }
  t.equal((await app.inject({ url: '/admin', headers: auth })).statusCode, 401, 'the token predates the factor')
  const pending = await app.inject({ method: 'POST', url: '/api/login/step-up', headers: auth })
  t.match(pending.json(), { status: 'mfa_required', methods: ['totp', 'recovery'] })
  const other = await signIn(app, 'mallory')
  const stolen = await app.inject({ method: 'POST', url: '/api/login/mfa', headers: { authorization: `Bearer ${other.token}` }, payload: { challenge: pending.json().challenge, code: totpCode(secret, clock.now) } })
  t.match(stolen.json(), { statusCode: 401, code: 'GK_INVALID_GRANT' }, 'another user cannot complete a step-up challenge')
  const done = await app.inject({ method: 'POST', url: '/api/login/mfa', headers: auth, payload: { challenge: pending.json().challenge, code: totpCode(secret, clock.now) } })
  t.equal(done.statusCode, 200)
  t.same(claimsOf(done.json().accessToken).amr, ['pwd', 'otp', 'mfa'])
  t.equal((await app.inject({ url: '/admin', headers: { authorization: `Bearer ${done.json().accessToken}` } })).statusCode, 200)
})

t.test('recovery codes: one completes a login once; regenerating needs a recent login and replaces them all', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { recoveryCodes } = await enrol(app, clock)
  const code = recoveryCodes[0] as string
  const done = await app.inject({ method: 'POST', url: '/api/login/mfa', payload: { challenge: await firstStep(app), recoveryCode: code.toLowerCase().replaceAll('-', ' ') } })
  t.equal(done.statusCode, 200, 'typed in lower case with spaces')
  t.same(claimsOf(done.json().accessToken).amr, ['pwd', 'otp', 'mfa'])
  const auth = { authorization: `Bearer ${done.json().accessToken}` }
  t.match((await app.inject({ url: '/api/mfa', headers: auth })).json(), { factors: { recovery: { remaining: 9 } } })
  const fresh = await app.inject({ method: 'POST', url: '/api/mfa/recovery-codes', headers: auth })
  t.equal(fresh.statusCode, 200)
  t.equal(fresh.json().recoveryCodes.length, 10)
  const old = await app.inject({ method: 'POST', url: '/api/login/mfa', payload: { challenge: await firstStep(app), recoveryCode: recoveryCodes[1] } })
  t.match(old.json(), { statusCode: 401, code: 'GK_INVALID_CREDENTIALS' }, 'the old set is gone')
  clock.now += 11 * 60_000
  const late = await app.inject({ method: 'POST', url: '/api/mfa/recovery-codes', headers: auth })
  t.match(late.json(), { statusCode: 401, code: 'GK_INSUFFICIENT_AUTHENTICATION' })
  t.match(late.headers['www-authenticate'], /max_age=600/)
})

t.test('disabling TOTP needs a recent login, removes the recovery codes too, and logins are password-only again', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { token, secret } = await enrol(app, clock)
  const done = await app.inject({ method: 'POST', url: '/api/login/mfa', payload: { challenge: await firstStep(app), code: totpCode(secret, clock.now) } })
  const auth = { authorization: `Bearer ${done.json().accessToken}` }
  clock.now += 11 * 60_000
  t.match((await app.inject({ method: 'DELETE', url: '/api/mfa/totp', headers: auth })).json(), { statusCode: 401, code: 'GK_INSUFFICIENT_AUTHENTICATION' })
  const stepped = await app.inject({ method: 'POST', url: '/api/login/step-up', headers: { authorization: `Bearer ${token}` } })
  const renewed = await app.inject({ method: 'POST', url: '/api/login/mfa', headers: { authorization: `Bearer ${token}` }, payload: { challenge: stepped.json().challenge, code: totpCode(secret, clock.now) } })
  t.equal(renewed.statusCode, 200)
  const del = await app.inject({ method: 'DELETE', url: '/api/mfa/totp', headers: { authorization: `Bearer ${renewed.json().accessToken}` } })
  t.equal(del.statusCode, 204)
  const id = (await app.gatekeeper.store.users.findByLogin('alice'))?.id as string
  t.equal(await app.gatekeeper.store.recoveryCodes?.remaining(id), 0)
  const login = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })
  t.type(login.json().accessToken, 'string')
})

t.test('users.resetFactors removes every factor: an administrator\'s way back in for a lost device', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const events: Array<Record<string, unknown>> = []
  app.gatekeeper.on('mfa.reset', (e: Record<string, unknown>) => events.push(e))
  const { id } = await enrol(app, clock)
  await app.gatekeeper.users.resetFactors?.(id)
  t.same(await app.gatekeeper.mfa?.enrolledFactors(id), [])
  t.match(events, [{ userId: id, removed: { totp: 1, recovery: 10 } }])
  t.type((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice', password: PASSWORD } })).json().accessToken, 'string')
})

t.test('a code of the previous or next step is accepted (clock drift), two steps away is not', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  const { secret } = await enrol(app, clock)
  for (const [offset, status] of [[-2, 401], [2, 401], [-1, 200], [1, 200]] as const) {
    clock.now += 120_000
    const res = await app.inject({ method: 'POST', url: '/api/login/mfa', payload: { challenge: await firstStep(app), code: totpCode(secret, clock.now, offset) } })
    t.equal(res.statusCode, status, `offset ${offset}`)
  }
})
