import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { oauth2, type OAuth2Options } from '../../lib/oauth2/index.js'
import { autoLinkRefusal } from '../../lib/oauth2/linking.js'
import { memoryStore } from '../../lib/stores/memory.js'
import type { UserRecord } from '../../lib/stores/types.js'
import { APP_BASE, authorize, CLIENT_ID, CLIENT_SECRET, startProvider } from '../oauth2/provider.js'
import { auditEvents, auditSweep, bearer, PASSWORD, remember, securityApp } from './helpers.js'

// The attack (pre-account takeover): with open registration and
// `linkVerifiedEmail`, an attacker registers the victim's address as a local
// username with a password of their own. When the victim later uses "Log in
// with …" (the provider says `email_verified: true`), the identity was linked
// to the attacker's account, and the attacker kept password access to it.
// An identity is linked automatically only to an account without a password
// whose email the library verified itself; everybody else links explicitly.

const provider = await startProvider(['test'])
t.teardown(provider.close)

async function rp (opts: Partial<OAuth2Options>): Promise<FastifyInstance> {
  const { app } = await securityApp({
    store: memoryStore(),
    clock: { now: Date.now() },
    jwt: { routes: { register: true }, cookie: false },
    async setup (app) {
      await app.register(oauth2, { providers: { test: { issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } }, redirectBase: APP_BASE, stateSecret: 's'.repeat(32), clientCredentials: false, ...opts })
      // An app's own linking route, through app.gatekeeper.oauth2.link().
      app.post('/settings/identities/test', { config: { auth: { strategies: ['jwt'] } } }, async (request, reply) => await app.gatekeeper.oauth2!.link('test', request, reply))
    }
  })
  t.teardown(() => app.close())
  return app
}

/** "Log in with test" as the provider account `account`; `start` is how the flow began (default: an anonymous login). */
async function viaProvider (app: FastifyInstance, account: string, start?: { url: string, cookie: string }): Promise<{ status: number, body: Record<string, any> }> {
  let s = start
  if (s === undefined) {
    const res = await app.inject({ url: '/api/oauth/test/start' })
    s = { url: res.headers.location as string, cookie: (res.headers['set-cookie'] as string).split(';')[0] as string }
  }
  const back = await authorize(s.url, account)
  const res = await app.inject({ url: `/api/oauth/test/callback${back.search}`, headers: { cookie: s.cookie } })
  const body = res.json()
  remember(body.accessToken)
  return { status: res.statusCode, body }
}

const subjectOf = async (app: FastifyInstance, token: string): Promise<string> => (await app.inject({ url: '/me', headers: bearer(token) })).json().subject

async function passwordLogin (app: FastifyInstance, username: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username, password: PASSWORD } })
  return remember(res.json().accessToken as string)
}

t.test('the attacker who registered the victim\'s address never gets the victim\'s identity', async (t) => {
  for (const allowSignup of [true, false]) {
    const app = await rp({ linkVerifiedEmail: true, allowSignup })
    const reg = await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'alice@example.com', password: PASSWORD } })
    t.equal(reg.statusCode, 201, 'the attacker registers alice@example.com with a password of their own')
    const squatter = (await app.gatekeeper.store.users.findByLogin('alice@example.com'))!.id
    const victim = await viaProvider(app, 'alice')
    if (allowSignup) {
      t.equal(victim.status, 200, 'allowSignup: the victim gets an account of their own')
      t.not(await subjectOf(app, victim.body.accessToken), squatter, 'not the attacker\'s account [pre-account takeover; OWASP ASVS 2.5 / 3.7]')
    } else {
      t.equal(victim.status, 403, 'no signup: the victim is refused rather than put in the attacker\'s account')
    }
    t.same(await app.gatekeeper.store.identities!.listByUser(squatter), [], 'nothing was linked to the attacker\'s account')
    t.equal(await subjectOf(app, await passwordLogin(app, 'alice@example.com')), squatter, 'the attacker\'s password opens only the attacker\'s own, empty account')
    t.match(auditEvents.findLast((e) => (e as { type?: string }).type === 'oauth.link_refused'), { userId: squatter, reason: 'password' })
  }
})

t.test('automatic linking needs an account without a password whose email the library verified (table)', async (t) => {
  const app = await rp({ linkVerifiedEmail: true })
  const rows: Array<[string, { password: string | null, verified: boolean }, boolean]> = [
    ['a password account whose email the library verified', { password: PASSWORD, verified: true }, false],
    ['a password account', { password: PASSWORD, verified: false }, false],
    ['a password-less account the library never verified (made through a lax provider or by hand)', { password: null, verified: false }, false],
    ['control: a password-less account whose email the library verified', { password: null, verified: true }, true]
  ]
  for (const [name, account, links] of rows) {
    const existing = await app.gatekeeper.store.users.findByLogin('alice@example.com')
    if (existing !== null) await app.gatekeeper.store.users.delete(existing.id)
    for (const link of await app.gatekeeper.store.identities!.listByUser(existing?.id ?? '')) await app.gatekeeper.store.identities!.delete(link.issuer, link.subject)
    const user = await app.gatekeeper.users.create({ username: 'alice@example.com', password: account.password })
    // The library's own verification, as the accounts plugin records it when a mailed link is redeemed.
    if (account.verified) await app.gatekeeper.store.users.update(user.id, { emailVerifiedAt: new Date() })
    const res = await viaProvider(app, 'alice')
    t.equal(res.status, links ? 200 : 403, `${name}: ${links ? 'linked' : 'refused'}`)
    if (links) t.equal(await subjectOf(app, res.body.accessToken), user.id)
    t.equal((await app.gatekeeper.store.identities!.listByUser(user.id)).length, links ? 1 : 0)
  }
})

t.test('the rule itself, unit by unit', async (t) => {
  const base: UserRecord = { id: 'u', username: 'Alice@Example.com', passwordHash: null, roles: [], disabled: false, emailVerifiedAt: new Date(), createdAt: new Date(), updatedAt: new Date() }
  t.equal(autoLinkRefusal(base, 'alice@example.com'), null)
  t.equal(autoLinkRefusal({ ...base, passwordHash: '$argon2id$…' }, 'alice@example.com'), 'password')
  t.equal(autoLinkRefusal({ ...base, emailVerifiedAt: null }, 'alice@example.com'), 'email_unverified')
  t.equal(autoLinkRefusal({ ...base, emailVerifiedAt: undefined }, 'alice@example.com'), 'email_unverified')
  t.equal(autoLinkRefusal({ ...base, email: 'other@example.com' } as UserRecord, 'alice@example.com'), 'email_differs', 'the verified address is the account\'s email, not its username')
  t.equal(autoLinkRefusal({ ...base, username: 'alice', email: 'alice@example.com' } as UserRecord, 'alice@example.com'), null)
})

t.test('a signed-in user links explicitly: the link route and oauth2.link() bind the identity to them through the sealed state', async (t) => {
  const app = await rp({})
  await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'carol', password: PASSWORD } })
  const carol = (await app.gatekeeper.store.users.findByLogin('carol'))!.id
  const token = await passwordLogin(app, 'carol')
  t.equal((await app.inject({ method: 'POST', url: '/api/oauth/test/link' })).statusCode, 401, 'not signed in: 401')
  const appToken = remember((await app.gatekeeper.tokens.issue({ id: carol, roles: [] }, { kind: 'application', scopes: ['x'] })).accessToken)
  t.equal((await app.inject({ method: 'POST', url: '/api/oauth/test/link', headers: bearer(appToken) })).statusCode, 403, 'an application: 403')
  t.equal((await app.inject({ method: 'POST', url: '/api/oauth/nope/link', headers: bearer(token) })).statusCode, 404, 'an unknown provider: 404')
  const res = await app.inject({ method: 'POST', url: '/api/oauth/test/link', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.headers['set-cookie'], /^__Host-gk_oauth=[A-Za-z0-9_-]+; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/)
  t.notMatch(res.headers['set-cookie'], carol, 'the user id is sealed, not readable')
  t.equal(new URL(res.json().url).origin, provider.issuer)
  const linked = await viaProvider(app, 'alice', { url: res.json().url, cookie: (res.headers['set-cookie'] as string).split(';')[0] as string })
  t.equal(linked.status, 200)
  t.equal(await subjectOf(app, linked.body.accessToken), carol, 'the identity is carol\'s')
  t.equal(await subjectOf(app, (await viaProvider(app, 'alice')).body.accessToken), carol, 'and "Log in with test" now opens carol\'s account')

  // Through the app's own route: app.gatekeeper.oauth2.link().
  await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'erin', password: PASSWORD } })
  const erin = (await app.gatekeeper.store.users.findByLogin('erin'))!.id
  const own = await app.inject({ method: 'POST', url: '/settings/identities/test', headers: bearer(await passwordLogin(app, 'erin')) })
  t.equal(own.statusCode, 200)
  const mine = await viaProvider(app, 'mallory', { url: own.json().url, cookie: (own.headers['set-cookie'] as string).split(';')[0] as string })
  t.equal(await subjectOf(app, mine.body.accessToken), erin, 'oauth2.link() from a route of the app links to its caller')
})

t.test('a GET to start, even from a signed-in browser, never links: it is a login', async (t) => {
  const app = await rp({ allowSignup: true })
  await app.inject({ method: 'POST', url: '/api/register', payload: { username: 'dave', password: PASSWORD } })
  const dave = (await app.gatekeeper.store.users.findByLogin('dave'))!.id
  const token = await passwordLogin(app, 'dave')
  const res = await app.inject({ url: '/api/oauth/test/start', headers: bearer(token) })
  const back = await viaProvider(app, 'alice', { url: res.headers.location as string, cookie: (res.headers['set-cookie'] as string).split(';')[0] as string })
  t.equal(back.status, 200)
  t.not(await subjectOf(app, back.body.accessToken), dave)
  t.same(await app.gatekeeper.store.identities!.listByUser(dave), [], 'nothing linked to dave')
})

auditSweep(t)
