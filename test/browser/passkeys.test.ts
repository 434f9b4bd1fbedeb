import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser, Page } from 'puppeteer-core'
import t, { type Test } from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { mfa } from '../../lib/mfa/index.js'
import { passkeys } from '../../lib/passkeys/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { freePort } from '../helpers.js'
import { launchChromium } from './chromium.js'
import { addVirtualAuthenticator, BROWSER_BUNDLE, PASSKEY_PAGE, servePasskeyPage, type VirtualAuthenticator, type VirtualCredential } from './webauthn.js'

// Passkeys end to end: Chromium's own WebAuthn code with a DevTools virtual
// authenticator (CTAP2, resident keys, user verification), @simplewebauthn/browser
// in the page, the library's routes on the other side.

const PASSWORD = 'correct horse battery staple'

interface Harness {
  app: FastifyInstance
  store: GatekeeperStore
  origin: string
  /** A second listener serving the page on any host name: `app.localhost` is an allowed origin there, `localhost` is not. */
  otherPort: number
  anomalies: Array<Record<string, unknown>>
  audit: Array<Record<string, unknown>>
  /** Moves the server's clock (tokens keep working; logins age). */
  skew: (ms: number) => void
}

async function harness (t: Test, withMfa = false): Promise<Harness> {
  const store = memoryStore()
  const port = await freePort()
  const other = createServer((req, res) => {
    if (req.url === '/simplewebauthn-browser.js') res.setHeader('content-type', 'text/javascript').end(BROWSER_BUNDLE)
    else res.setHeader('content-type', 'text/html').end(PASSKEY_PAGE)
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { other.closeAllConnections(); other.close() })
  const otherPort = (other.address() as AddressInfo).port
  const origin = `http://localhost:${port}`
  const app = Fastify({ forceCloseConnections: true })
  const audit: Array<Record<string, unknown>> = []
  let skew = 0
  await app.register(gatekeeper, { store, now: () => Date.now() + skew, audit: { log: false, onEvent: (e) => { audit.push(e as unknown as Record<string, unknown>) } }, bruteForce: false })
  await app.register(jwt, { secret: 'x'.repeat(32), issuer: 'passkeys-test', audience: 'api', cookie: false })
  await app.register(refresh, { transport: 'body' })
  // With the mfa plugin first, a registered passkey is also the second factor of a password login.
  if (withMfa) await app.register(mfa, { encryptionKeys: [{ id: 'k1', key: randomBytes(32) }] })
  // app.localhost is a second frontend on the same RP ID; localhost on the other port is not listed.
  await app.register(passkeys, { rpID: 'localhost', rpName: 'Gatekeeper test', origins: [origin, `http://app.localhost:${otherPort}`] })
  servePasskeyPage(app)
  app.get('/api/profile', async (request) => ({ id: request.auth?.subject, amr: request.auth?.claims?.amr ?? null }))
  const anomalies: Array<Record<string, unknown>> = []
  app.gatekeeper.on('anomaly', (a: Record<string, unknown>) => anomalies.push(a))
  await app.listen({ port, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, store, origin, otherPort, anomalies, audit, skew: (ms) => { skew = ms } }
}

type Answer = { status: number, body: any, step?: string, error?: string }

const gk = async (page: Page, fn: string, ...args: unknown[]): Promise<Answer> =>
  await page.evaluate(async (fn, args) => await (globalThis as any).gk[fn](...args), fn, args)

/** Posts JSON to the server from Node (a client that is not a browser, or an attacker replaying what it saw). */
async function post (origin: string, path: string, body: unknown, token?: string): Promise<Answer> {
  const res = await fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json().catch(() => null) }
}

async function signedInPage (browser: Browser, h: Harness, username: string): Promise<{ page: Page, authenticator: VirtualAuthenticator }> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  const authenticator = await addVirtualAuthenticator(page)
  await page.goto(`${h.origin}/`)
  const login = await gk(page, 'login', username, PASSWORD)
  if (login.status !== 200) throw new Error(`login of ${username}: ${login.status}`)
  return { page, authenticator }
}

/** A page of its own (own browser context) at `url` with a virtual authenticator holding `credentials`. */
async function pageAt (browser: Browser, url: string, credentials: VirtualCredential[] = []): Promise<{ page: Page, authenticator: VirtualAuthenticator }> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  const authenticator = await addVirtualAuthenticator(page)
  for (const c of credentials) await authenticator.add(c)
  await page.goto(url)
  return { page, authenticator }
}

/** Makes an assertion in `page` for options the server gave (Node asks for them, as an attacker's server would). */
async function assertion (page: Page, options: unknown): Promise<Record<string, any>> {
  const made = await page.evaluate(async (o) => await (globalThis as any).gk.assert(o), options) as { response?: Record<string, any>, error?: string }
  if (made.response === undefined) throw new Error(`the browser made no assertion: ${made.error ?? ''}`)
  return made.response
}

const browser = await launchChromium(t)
if (browser !== null) {
  t.test('the ceremonies, in Chromium', async (t) => { await flows(t, browser) })
  t.test('a passkey as the second factor of a password login, in Chromium', async (t) => { await secondFactor(t, browser) })
  t.test('attacks on the ceremonies, in Chromium', async (t) => { await attacks(t, browser) })
}

async function flows (t: Test, browser: Browser): Promise<void> {
  const h = await harness(t)
  const alice = await h.app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  await h.app.gatekeeper.users.create({ username: 'bob', password: PASSWORD, roles: ['user'] })
  const { page, authenticator } = await signedInPage(browser, h, 'alice')

  await t.test('register a passkey, sign out, sign in with it without a username', async (t) => {
    const registered = await gk(page, 'register', 'laptop')
    t.equal(registered.status, 201, `registered (${registered.step ?? registered.body?.code ?? ''})`)
    t.equal(registered.body.name, 'laptop')
    t.equal(registered.body.publicKey, undefined, 'the public key is not echoed')
    const [credential] = await authenticator.credentials()
    t.ok(credential?.isResidentCredential, 'the authenticator holds a discoverable credential')
    t.equal(Buffer.from(credential?.credentialId ?? '', 'base64').toString('base64url'), registered.body.id, 'the stored id is the authenticator\'s')

    await page.evaluate(() => (globalThis as any).gk.signOut())
    t.equal((await gk(page, 'call', 'GET', '/api/profile')).status, 401, 'signed out')
    const login = await gk(page, 'passkeyLogin')
    t.equal(login.status, 200, `signed in (${login.step ?? login.body?.code ?? ''})`)
    t.type(login.body.accessToken, 'string')
    t.type(login.body.refreshToken, 'string', 'the refresh plugin opened a session: the same completeLogin path as a password')
    const profile = await gk(page, 'call', 'GET', '/api/profile')
    t.equal(profile.body.id, alice.id, 'the passkey signed alice in')
    const success = h.audit.findLast((e) => e.type === 'login.success')
    t.equal(success?.method, 'passkey')
    t.equal(success?.userId, alice.id)
  })

  await t.test('several named passkeys: list, rename, remove (after a recent login only)', async (t) => {
    const token = await page.evaluate(() => (globalThis as any).gk.bearer()) as string
    // A second authenticator (a phone) in its own tab of the same browser, with the same session.
    const phoneTab = await page.browserContext().newPage()
    await addVirtualAuthenticator(phoneTab)
    await phoneTab.goto(`${h.origin}/`)
    await phoneTab.evaluate((token) => { (globalThis as any).gk.setBearer(token) }, token)
    const added = await gk(phoneTab, 'register', 'phone')
    t.equal(added.status, 201)
    // WebAuthn needs the focused tab.
    await page.bringToFront()
    const again = await gk(page, 'register', 'laptop again')
    t.equal(again.step, 'browser', 'the laptop cannot register twice: its credential is excluded')
    t.match(again.error, /InvalidStateError/)

    const list = await gk(page, 'call', 'GET', '/api/passkeys')
    t.same(list.body.map((p: { name: string }) => p.name), ['laptop', 'phone'])
    t.notOk('publicKey' in list.body[0] || 'counter' in list.body[0], 'neither key nor counter is listed')
    t.ok(list.body[0].lastUsedAt, 'the laptop was used to sign in')

    const renamed = await gk(page, 'call', 'PATCH', `/api/passkeys/${added.body.id}`, { name: 'work phone' })
    t.equal(renamed.status, 200)
    t.equal(renamed.body.name, 'work phone')

    const bob = await post(h.origin, '/api/login', { username: 'bob', password: PASSWORD })
    const foreign = await fetch(`${h.origin}/api/passkeys/${added.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${bob.body.accessToken as string}` } })
    t.equal(foreign.status, 404, 'bob cannot remove alice\'s passkey')
    t.equal((await gk(page, 'call', 'PATCH', `/api/passkeys/${added.body.id}`, { name: 'mine' })).status, 200)

    h.skew(11 * 60_000)
    const stale = await fetch(`${h.origin}/api/passkeys/${added.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    t.equal(stale.status, 401, 'a login 11 minutes old cannot remove a passkey')
    t.equal(((await stale.json()) as { code: string }).code, 'GK_INSUFFICIENT_AUTHENTICATION')
    t.match(stale.headers.get('www-authenticate'), /error="insufficient_user_authentication".*max_age=600/)
    h.skew(0)
    const removed = await fetch(`${h.origin}/api/passkeys/${added.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    t.equal(removed.status, 204)
    t.same((await gk(page, 'call', 'GET', '/api/passkeys')).body.map((p: { name: string }) => p.name), ['laptop'])
    await phoneTab.bringToFront()
    const gone = await gk(phoneTab, 'passkeyLogin')
    t.equal(gone.status, 401, 'the removed passkey no longer signs in')
    t.equal(h.audit.findLast((e) => e.type === 'login.failure')?.cause, 'unknown_credential')
    t.same(h.audit.filter((e) => String(e.type).startsWith('passkey.')).map((e) => e.type), ['passkey.registered', 'passkey.registered', 'passkey.renamed', 'passkey.renamed', 'passkey.removed'])
  })
}

async function attacks (t: Test, browser: Browser): Promise<void> {
  const h = await harness(t)
  const alice = await h.app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  await h.app.gatekeeper.users.create({ username: 'bob', password: PASSWORD, roles: ['user'] })
  const a = await signedInPage(browser, h, 'alice')
  t.equal((await gk(a.page, 'register', 'laptop')).status, 201, 'alice registered a passkey')
  const b = await signedInPage(browser, h, 'bob')
  const bobToken = await b.page.evaluate(() => (globalThis as any).gk.bearer()) as string
  /** Alice's credential as her authenticator holds it now (private key and counter). */
  const aliceKey = async (): Promise<VirtualCredential> => (await a.authenticator.credentials())[0] as VirtualCredential
  const loginOptions = async (): Promise<{ challenge: string, options: Record<string, any> }> => (await post(h.origin, '/api/passkeys/login/options', {})).body
  const failures = (): Array<Record<string, unknown>> => h.audit.filter((e) => (e.type === 'login.failure' && e.method === 'passkey') || e.type === 'passkey.registration_failure')

  await t.test('a copy of the key in another browser signs in on the right origin (the control of the rows below)', async (t) => {
    const control = await pageAt(browser, `${h.origin}/`, [await aliceKey()])
    const { challenge, options } = await loginOptions()
    const answer = await post(h.origin, '/api/passkeys/login', { challenge, response: await assertion(control.page, options) })
    t.equal(answer.status, 200)
    // The copy's counter is now ahead of the original's: give the original the copy's state, or it would look cloned.
    const moved = (await control.authenticator.credentials())[0] as VirtualCredential
    await a.authenticator.remove(moved.credentialId)
    await a.authenticator.add(moved)
  })

  const rows: Array<{ attack: string, make: () => Promise<{ body: unknown, token?: string, path?: string }>, status: number, code: string, cause?: string }> = [
    {
      attack: 'a login challenge used twice (a replayed assertion)',
      make: async () => {
        const { challenge, options } = await loginOptions()
        const body = { challenge, response: await assertion(a.page, options) }
        const first = await post(h.origin, '/api/passkeys/login', body)
        if (first.status !== 200) throw new Error(`the first use failed: ${first.status}`)
        return { body }
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'unknown_challenge'
    },
    {
      attack: 'an assertion signed for another ceremony\'s challenge',
      make: async () => {
        const victim = await loginOptions()
        const mine = await loginOptions()
        return { body: { challenge: mine.challenge, response: await assertion(a.page, victim.options) } }
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'verification_failed'
    },
    {
      attack: 'an assertion made on another origin of the same RP ID (another port of localhost)',
      make: async () => {
        const { page } = await pageAt(browser, `http://localhost:${h.otherPort}/`, [await aliceKey()])
        const { challenge, options } = await loginOptions()
        return { body: { challenge, response: await assertion(page, options) } }
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'verification_failed'
    },
    {
      attack: 'an assertion for another RP ID (app.localhost) on an allowed origin, signed by the registered key',
      make: async () => {
        const key = await aliceKey()
        const { page } = await pageAt(browser, `http://app.localhost:${h.otherPort}/`, [{ ...key, rpId: 'app.localhost' }])
        const { challenge, options } = await loginOptions()
        return { body: { challenge, response: await assertion(page, { ...options, rpId: 'app.localhost' }) } }
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'verification_failed'
    },
    {
      attack: 'an assertion of another origin whose clientDataJSON is rewritten to name the allowed one',
      make: async () => {
        const { page } = await pageAt(browser, `http://localhost:${h.otherPort}/`, [await aliceKey()])
        const { challenge, options } = await loginOptions()
        const response = await assertion(page, options)
        const client = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'))
        client.origin = h.origin
        response.response.clientDataJSON = Buffer.from(JSON.stringify(client)).toString('base64url')
        return { body: { challenge, response } }
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'verification_failed'
    },
    {
      attack: 'an assertion by an unregistered credential that claims alice\'s user handle',
      make: async () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        const { page } = await pageAt(browser, `${h.origin}/`, [{
          credentialId: randomBytes(32).toString('base64'),
          isResidentCredential: true,
          rpId: 'localhost',
          privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
          userHandle: Buffer.from(alice.id).toString('base64'),
          signCount: 0
        }])
        const { challenge, options } = await loginOptions()
        return { body: { challenge, response: await assertion(page, options) } }
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'unknown_credential'
    },
    {
      attack: 'a challenge of alice\'s registration completed in bob\'s session',
      make: async () => {
        const started = await gk(a.page, 'call', 'POST', '/api/passkeys/register/options', {})
        const made = await b.page.evaluate(async (o) => await (globalThis as any).SimpleWebAuthnBrowser.startRegistration({ optionsJSON: o }), started.body.options)
        return { path: '/api/passkeys/register', token: bobToken, body: { challenge: started.body.challenge, response: made } }
      },
      status: 400,
      code: 'GK_INVALID_REQUEST',
      cause: 'wrong_binding'
    },
    {
      attack: 'a challenge of alice\'s registration completed from another of her sessions',
      make: async () => {
        const started = await gk(a.page, 'call', 'POST', '/api/passkeys/register/options', {})
        const made = await b.page.evaluate(async (o) => await (globalThis as any).SimpleWebAuthnBrowser.startRegistration({ optionsJSON: o }), started.body.options)
        const other = await post(h.origin, '/api/login', { username: 'alice', password: PASSWORD })
        return { path: '/api/passkeys/register', token: other.body.accessToken, body: { challenge: started.body.challenge, response: made } }
      },
      status: 400,
      code: 'GK_INVALID_REQUEST',
      cause: 'wrong_binding'
    }
  ]

  for (const row of rows) {
    await t.test(`${row.attack} → ${row.status} ${row.code}`, async (t) => {
      const { body, token, path } = await row.make()
      const before = failures().length
      const answer = await post(h.origin, path ?? '/api/passkeys/login', body, token)
      t.equal(answer.status, row.status)
      t.equal(answer.body?.code, row.code)
      t.notOk(answer.body?.accessToken, 'no token')
      if (row.cause !== undefined) t.equal(failures().slice(before)[0]?.cause, row.cause, `audited as ${row.cause}`)
    })
  }

  await t.test('a cloned authenticator (a copy of the key whose counter lags) → 401 and an anomaly', async (t) => {
    const copy = await aliceKey()
    // The original is used after the copy was taken: the stored counter moves past the copy's.
    t.equal((await gk(a.page, 'passkeyLogin')).status, 200, 'the original signs in')
    t.same(h.anomalies, [], 'no anomaly so far')
    const clone = await pageAt(browser, `${h.origin}/`, [copy])
    const stored = (await h.store.webauthnCredentials!.findById(Buffer.from(copy.credentialId, 'base64').toString('base64url')))?.counter
    const answer = await gk(clone.page, 'passkeyLogin')
    t.equal(answer.status, 401)
    t.equal(answer.body?.code, 'GK_INVALID_CREDENTIALS')
    t.same(h.anomalies.map((e) => e.type), ['passkey_cloned'], 'one anomaly was raised')
    const anomaly = h.anomalies[0]
    t.equal(anomaly?.userId, alice.id)
    t.equal(anomaly?.storedCounter, stored)
    t.equal(anomaly?.presentedCounter, copy.signCount + 1, 'the clone presented its own next count')
    t.equal(failures().at(-1)?.cause, 'counter_regression')
    t.equal((await gk(a.page, 'passkeyLogin')).status, 200, 'the original still signs in')
  })
}

async function secondFactor (t: Test, browser: Browser): Promise<void> {
  const h = await harness(t, true)
  const alice = await h.app.gatekeeper.users.create({ username: 'alice', password: PASSWORD, roles: ['user'] })
  await h.app.gatekeeper.users.create({ username: 'bob', password: PASSWORD, roles: ['user'] })
  const a = await signedInPage(browser, h, 'alice')
  t.equal((await gk(a.page, 'register', 'laptop')).status, 201, 'alice registered a passkey (before it, her password alone signed her in)')
  const b = await signedInPage(browser, h, 'bob')
  t.equal((await gk(b.page, 'register', 'bob laptop')).status, 201, 'so did bob')

  /** A password login that stops at the second step: its challenge and WebAuthn options. */
  const firstStep = async (username: string): Promise<{ challenge: string, webauthn: Record<string, any>, body: Record<string, any> }> => {
    const answer = await post(h.origin, '/api/login', { username, password: PASSWORD })
    if (answer.status !== 200 || answer.body.status !== 'mfa_required') throw new Error(`no second step for ${username}: ${answer.status}`)
    return { challenge: answer.body.challenge, webauthn: answer.body.webauthn, body: answer.body }
  }

  await t.test('password, then the passkey: signed in with amr pwd + hwk + user + mfa', async (t) => {
    await a.page.bringToFront()
    const step = await firstStep('alice')
    t.same(step.body.methods, ['webauthn'])
    t.notOk(step.body.accessToken, 'no token before the second step')
    t.same(step.webauthn.allowCredentials.map((c: { id: string }) => c.id), (await h.app.gatekeeper.passkeys!.list(alice.id)).map((p) => p.id), 'the options list alice\'s passkeys')
    const done = await post(h.origin, '/api/login/mfa', { challenge: step.challenge, webauthn: await assertion(a.page, step.webauthn) })
    t.equal(done.status, 200)
    const profile = await fetch(`${h.origin}/api/profile`, { headers: { authorization: `Bearer ${done.body.accessToken as string}` } })
    const me = await profile.json() as { id: string, amr: string[] }
    t.equal(me.id, alice.id)
    t.same([...me.amr].sort(), ['hwk', 'mfa', 'pwd', 'user'])
  })

  await t.test('usernameless, the passkey alone: amr hwk + user + mfa (a verified passkey is two factors)', async (t) => {
    await a.page.evaluate(() => (globalThis as any).gk.signOut())
    const login = await gk(a.page, 'passkeyLogin')
    t.equal(login.status, 200)
    const me = await (await gk(a.page, 'call', 'GET', '/api/profile')).body as { amr: string[] }
    t.same([...me.amr].sort(), ['hwk', 'mfa', 'user'])
  })

  const rows: Array<{ attack: string, run: () => Promise<Answer>, status: number, code: string, cause?: string }> = [
    {
      attack: 'skipping the second step: the challenge as a bearer token on a protected route',
      run: async () => {
        const step = await firstStep('alice')
        const res = await fetch(`${h.origin}/api/profile`, { headers: { authorization: `Bearer ${step.challenge}` } })
        return { status: res.status, body: await res.json() }
      },
      status: 401,
      code: 'GK_TOKEN_INVALID'
    },
    {
      attack: 'a second step answered twice with one assertion',
      run: async () => {
        const step = await firstStep('alice')
        const body = { challenge: step.challenge, webauthn: await assertion(a.page, step.webauthn) }
        const first = await post(h.origin, '/api/login/mfa', body)
        if (first.status !== 200) throw new Error(`the first answer failed: ${first.status}`)
        return await post(h.origin, '/api/login/mfa', body)
      },
      status: 401,
      code: 'GK_INVALID_GRANT'
    },
    {
      attack: 'alice\'s second step answered with bob\'s passkey (signed for bob\'s own challenge)',
      run: async () => {
        const victim = await firstStep('alice')
        await b.page.bringToFront()
        const own = await firstStep('bob')
        return await post(h.origin, '/api/login/mfa', { challenge: victim.challenge, webauthn: await assertion(b.page, own.webauthn) })
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'other_user'
    },
    {
      attack: 'an assertion for a usernameless login challenge offered as the second step',
      run: async () => {
        await a.page.bringToFront()
        const step = await firstStep('alice')
        const other = await post(h.origin, '/api/passkeys/login/options', {})
        return await post(h.origin, '/api/login/mfa', { challenge: step.challenge, webauthn: await assertion(a.page, other.body.options) })
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'verification_failed'
    },
    {
      attack: 'a second step retried after a refused assertion (its WebAuthn challenge is spent)',
      run: async () => {
        const step = await firstStep('alice')
        const good = await assertion(a.page, step.webauthn)
        const broken = { ...good, response: { ...good.response, signature: Buffer.from('not a signature').toString('base64url') } }
        const refused = await post(h.origin, '/api/login/mfa', { challenge: step.challenge, webauthn: broken })
        if (refused.status !== 401) throw new Error(`the broken assertion got ${refused.status}`)
        return await post(h.origin, '/api/login/mfa', { challenge: step.challenge, webauthn: good })
      },
      status: 401,
      code: 'GK_INVALID_CREDENTIALS',
      cause: 'unknown_challenge'
    },
    {
      attack: 'a malformed assertion',
      run: async () => {
        const step = await firstStep('alice')
        return await post(h.origin, '/api/login/mfa', { challenge: step.challenge, webauthn: { id: 'x', response: {} } })
      },
      status: 400,
      code: 'GK_INVALID_REQUEST'
    }
  ]

  for (const row of rows) {
    await t.test(`${row.attack} → ${row.status} ${row.code}`, async (t) => {
      const before = h.audit.length
      const answer = await row.run()
      t.equal(answer.status, row.status)
      t.equal(answer.body?.code, row.code)
      t.notOk(answer.body?.accessToken, 'no token')
      if (row.cause !== undefined) t.equal(h.audit.slice(before).findLast((e) => e.type === 'passkey.refused')?.cause, row.cause, `audited as ${row.cause}`)
    })
  }
  t.same(h.anomalies, [], 'none of it looked like a cloned key')
}
