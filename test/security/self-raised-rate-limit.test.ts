import t from 'tap'
import { auditSweep, bearer, createUser, login, remember, securityApp } from './helpers.js'

// Attack (issue: "any user can lift their own rate limit"): POST /api/keys took `rateLimit` from
// the key's owner and the per-key budget replaced the operator's — a key with { max: 1e6 } got
// 200 on 200 of 200 requests past a 20/min limit — and three ordinary keys gave three budgets.
const LIMIT = { max: 20, timeWindow: '1m' }

async function app (rateLimit: Record<string, unknown> = LIMIT) {
  const built = await securityApp({ core: { rateLimit }, apiKey: {} })
  t.teardown(() => built.app.close())
  const userId = await createUser(built.app, 'user')
  const adminId = await createUser(built.app, 'admin', ['admin'])
  const userToken = remember((await login(built.app, 'user')).body.accessToken as string)
  const adminToken = remember((await login(built.app, 'admin')).body.accessToken as string)
  return { ...built, userId, adminId, userToken, adminToken }
}

const createKey = async (a: Awaited<ReturnType<typeof app>>, token: string, body: Record<string, unknown>) =>
  await a.app.inject({ method: 'POST', url: '/api/keys', headers: bearer(token), payload: body })

/** Status codes of `n` requests to /me with each key in turn. */
async function spend (a: Awaited<ReturnType<typeof app>>, keys: string[], n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await a.app.inject({ url: '/me', headers: { 'x-api-key': keys[i % keys.length] as string } })).statusCode)
  return out
}

t.test('a key owner cannot set a rate limit on their own key: 403, and nothing is created', async (t) => {
  const a = await app()
  const res = await createKey(a, a.userToken, { name: 'fast', rateLimit: { max: 1_000_000, timeWindow: '1m' } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'GK_FORBIDDEN')
  t.same(await a.app.gatekeeper.apiKeys.list(a.userId), [], 'no key was created')
  const plain = await createKey(a, a.userToken, { name: 'plain' })
  t.equal(plain.statusCode, 201, 'without rateLimit the owner creates keys as before')
  remember(plain.json().key)
})

t.test('a budget set by a key manager never exceeds the operator\'s', async (t) => {
  const a = await app()
  const res = await createKey(a, a.adminToken, { name: 'big', ownerId: a.userId, rateLimit: { max: 1_000_000, timeWindow: '1s' } })
  t.equal(res.statusCode, 201, 'a key manager may set a key\'s budget')
  const key = remember(res.json().key as string)
  const statuses = await spend(a, [key], 25)
  t.equal(statuses.filter((s) => s === 200).length, 20, 'capped at the operator\'s 20 per minute')
  const over = await a.app.inject({ url: '/me', headers: { 'x-api-key': key } })
  t.equal(over.headers['ratelimit-limit'], '20')
  t.ok(Number(over.headers['retry-after']) > 1, 'in the operator\'s window, not one second')
})

t.test('all credentials of one owner share the owner\'s budget by default', async (t) => {
  const a = await app()
  const keys: string[] = []
  // Created through the decorator: the owner's own requests would spend the shared budget.
  for (const name of ['a', 'b', 'c']) keys.push(remember((await a.app.gatekeeper.apiKeys.create({ ownerId: a.userId, name })).key))
  const statuses = await spend(a, keys, 30)
  t.equal(statuses.filter((s) => s === 200).length, 20, 'three keys, one budget of 20')
  const token = await a.app.inject({ url: '/me', headers: bearer(a.userToken) })
  t.equal(token.statusCode, 429, 'the owner\'s access token shares it too')
  t.equal((await a.app.inject({ url: '/me', headers: bearer(a.adminToken) })).statusCode, 200, 'another owner has a budget of their own')
})

t.test('rateLimit.per: \'credential\' gives each key a budget of its own (the operator\'s choice)', async (t) => {
  const a = await app({ ...LIMIT, per: 'credential' })
  const keys: string[] = []
  for (const name of ['a', 'b']) keys.push(remember((await createKey(a, a.userToken, { name })).json().key as string))
  const statuses = await spend(a, keys, 40)
  t.equal(statuses.filter((s) => s === 200).length, 40, 'two keys, two budgets of 20')
})

auditSweep(t)
