import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { memoryStore } from '../../lib/stores/memory.js'
import { postgresStore } from '../../lib/stores/postgres.js'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { capture } from '../helpers.js'
import { enrol, firstStep, mfaApp, PASSWORD, totpCode, type Clock } from '../mfa/helpers.js'
import { POSTGRES_URL, requirePostgres, uniqueSchema } from '../stores/postgres-env.js'

/** One attack: what is sent, and the status and code it must get. */
interface Row {
  name: string
  send: (ctx: Ctx) => Promise<{ statusCode: number, json: () => any }>
  status: number
  code?: string
}

interface Ctx { app: FastifyInstance, clock: Clock, secret: string, recoveryCodes: string[] }

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers })
const complete = (ctx: Ctx, payload: Record<string, unknown>, headers: Record<string, string> = {}) => post(ctx.app, '/api/login/mfa', payload, headers)

const ROWS: Row[] = [
  {
    name: 'a TOTP code replayed in the same step after it completed a login',
    async send (ctx) {
      const code = totpCode(ctx.secret, ctx.clock.now)
      const ok = await complete(ctx, { challenge: await firstStep(ctx.app), code })
      if (ok.statusCode !== 200) throw new Error(ok.body)
      return await complete(ctx, { challenge: await firstStep(ctx.app), code })
    },
    status: 401,
    code: 'GK_INVALID_CREDENTIALS'
  },
  {
    name: 'a code of an earlier step, still inside the drift window, after a later one was accepted',
    async send (ctx) {
      ctx.clock.now += 60_000
      const ok = await complete(ctx, { challenge: await firstStep(ctx.app), code: totpCode(ctx.secret, ctx.clock.now) })
      if (ok.statusCode !== 200) throw new Error(ok.body)
      return await complete(ctx, { challenge: await firstStep(ctx.app), code: totpCode(ctx.secret, ctx.clock.now, -1) })
    },
    status: 401,
    code: 'GK_INVALID_CREDENTIALS'
  },
  {
    name: 'a challenge used again after it completed a login',
    async send (ctx) {
      ctx.clock.now += 60_000
      const challenge = await firstStep(ctx.app)
      await complete(ctx, { challenge, code: totpCode(ctx.secret, ctx.clock.now) })
      ctx.clock.now += 30_000
      return await complete(ctx, { challenge, code: totpCode(ctx.secret, ctx.clock.now) })
    },
    status: 401,
    code: 'GK_INVALID_GRANT'
  },
  {
    name: 'a made-up challenge',
    send: async (ctx) => await complete(ctx, { challenge: randomBytes(32).toString('base64url'), code: totpCode(ctx.secret, ctx.clock.now) }),
    status: 401,
    code: 'GK_INVALID_GRANT'
  },
  {
    name: 'a challenge of another user, answered with this user\'s code',
    async send (ctx) {
      await ctx.app.gatekeeper.users.create({ username: 'bob', password: PASSWORD })
      await enrol(ctx.app, ctx.clock, 'bob')
      const challenge = await firstStep(ctx.app, 'bob')
      return await complete(ctx, { challenge, code: totpCode(ctx.secret, ctx.clock.now) })
    },
    status: 401,
    code: 'GK_INVALID_CREDENTIALS'
  },
  {
    name: 'an expired challenge',
    async send (ctx) {
      const challenge = await firstStep(ctx.app)
      ctx.clock.now += 5 * 60_000
      return await complete(ctx, { challenge, code: totpCode(ctx.secret, ctx.clock.now) })
    },
    status: 401,
    code: 'GK_INVALID_GRANT'
  },
  {
    name: 'the challenge used as a bearer token on a protected route (skipping the second step)',
    send: async (ctx) => await ctx.app.inject({ url: '/me', headers: { authorization: `Bearer ${await firstStep(ctx.app)}` } }),
    status: 401,
    code: 'GK_TOKEN_INVALID'
  },
  {
    name: 'the challenge presented as a refresh token (skipping the second step)',
    send: async (ctx) => await post(ctx.app, '/api/token/refresh', { refreshToken: await firstStep(ctx.app) }),
    status: 401,
    code: 'GK_INVALID_GRANT'
  },
  {
    name: 'a recovery code used twice',
    async send (ctx) {
      const ok = await complete(ctx, { challenge: await firstStep(ctx.app), recoveryCode: ctx.recoveryCodes[0] })
      if (ok.statusCode !== 200) throw new Error(ok.body)
      return await complete(ctx, { challenge: await firstStep(ctx.app), recoveryCode: ctx.recoveryCodes[0] })
    },
    status: 401,
    code: 'GK_INVALID_CREDENTIALS'
  },
  {
    name: 'a made-up recovery code',
    send: async (ctx) => await complete(ctx, { challenge: await firstStep(ctx.app), recoveryCode: 'AAAA-BBBB-CCCC-DDDD' }),
    status: 401,
    code: 'GK_INVALID_CREDENTIALS'
  },
  {
    name: 'two answers at once',
    send: async (ctx) => await complete(ctx, { challenge: await firstStep(ctx.app), code: '123456', recoveryCode: ctx.recoveryCodes[1] }),
    status: 400,
    code: 'GK_INVALID_REQUEST'
  },
  {
    name: 'no challenge',
    send: async (ctx) => await complete(ctx, { code: totpCode(ctx.secret, ctx.clock.now) }),
    status: 400,
    code: 'GK_INVALID_REQUEST'
  },
  {
    name: 'a code that is an object',
    send: async (ctx) => await complete(ctx, { challenge: await firstStep(ctx.app), code: { $gt: '' } }),
    status: 400,
    code: 'GK_INVALID_REQUEST'
  },
  {
    name: 'code brute force: the sixth wrong code finds the account locked',
    async send (ctx) {
      const challenge = await firstStep(ctx.app)
      const next = await firstStep(ctx.app)
      const right = totpCode(ctx.secret, ctx.clock.now)
      const wrong = right === '000000' ? '111111' : '000000'
      for (let i = 0; i < 5; i++) {
        const res = await complete(ctx, { challenge, code: wrong })
        if (res.statusCode !== 401) throw new Error(`attempt ${i}: ${res.statusCode}`)
      }
      return await complete(ctx, { challenge: next, code: wrong })
    },
    status: 429,
    code: 'GK_ACCOUNT_LOCKED'
  },
  {
    name: 'the right code while the account is locked by wrong codes',
    async send (ctx) {
      const kept = await firstStep(ctx.app)
      const other = await firstStep(ctx.app)
      for (let i = 0; i < 5; i++) await complete(ctx, { challenge: other, code: totpCode(ctx.secret, ctx.clock.now) === '999999' ? '888888' : '999999' })
      const relogin = await post(ctx.app, '/api/login', { username: 'alice', password: PASSWORD })
      if (relogin.statusCode !== 429) throw new Error('the password step is locked too')
      return await complete(ctx, { challenge: kept, code: totpCode(ctx.secret, ctx.clock.now) })
    },
    status: 429,
    code: 'GK_ACCOUNT_LOCKED'
  }
]

async function runTable (t: Test, name: string, makeStore: () => Promise<GatekeeperStore>): Promise<void> {
  t.test(`${name}: MFA attack table`, async (t) => {
    for (const row of ROWS) {
      const { app, clock } = await mfaApp({ store: await makeStore() })
      const { secret, recoveryCodes } = await enrol(app, clock)
      const res = await row.send({ app, clock, secret, recoveryCodes })
      t.match({ status: res.statusCode, code: res.json().code }, { status: row.status, code: row.code }, row.name)
      await app.close()
    }
  })

  t.test(`${name}: 10 concurrent right answers to one challenge complete one login`, async (t) => {
    const { app, clock } = await mfaApp({ store: await makeStore(), core: { bruteForce: false } })
    t.teardown(() => app.close())
    const { recoveryCodes } = await enrol(app, clock)
    const challenge = await firstStep(app)
    // Ten different valid recovery codes: only the challenge's single use can refuse nine of them.
    const results = await Promise.all(recoveryCodes.map((recoveryCode) => post(app, '/api/login/mfa', { challenge, recoveryCode })))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1)
    t.same(new Set(results.filter((r) => r.statusCode !== 200).map((r) => r.json().code)), new Set(['GK_INVALID_GRANT']))
  })

  t.test(`${name}: a challenge is spent after maxAttempts wrong answers, even with brute-force protection off`, async (t) => {
    const { app, clock } = await mfaApp({ store: await makeStore(), core: { bruteForce: false }, mfa: { maxAttempts: 3 } })
    t.teardown(() => app.close())
    const { secret } = await enrol(app, clock)
    const challenge = await firstStep(app)
    for (let i = 0; i < 3; i++) t.equal((await post(app, '/api/login/mfa', { challenge, code: totpCode(secret, clock.now) === '000000' ? '111111' : '000000' })).statusCode, 401)
    const res = await post(app, '/api/login/mfa', { challenge, code: totpCode(secret, clock.now) })
    t.match(res.json(), { statusCode: 401, code: 'GK_INVALID_GRANT' })
  })
}

t.test('a wrong password gets the same answer whether or not the account has a second factor', async (t) => {
  const { app, clock } = await mfaApp()
  t.teardown(() => app.close())
  await enrol(app, clock)
  await app.gatekeeper.users.create({ username: 'plain', password: PASSWORD })
  const withMfa = await post(app, '/api/login', { username: 'alice', password: 'wrong password!' })
  const without = await post(app, '/api/login', { username: 'plain', password: 'wrong password!' })
  const nobody = await post(app, '/api/login', { username: 'nobody', password: 'wrong password!' })
  t.same([withMfa.statusCode, without.statusCode, nobody.statusCode], [401, 401, 401])
  t.equal(withMfa.body, without.body)
  t.equal(withMfa.body, nobody.body)
  t.same(Object.keys(withMfa.headers).sort(), Object.keys(without.headers).sort())
})

t.test('nothing secret reaches the log or the audit trail: TOTP secrets, codes, recovery codes, challenges', async (t) => {
  const log = capture()
  const { app, clock } = await mfaApp({ logger: { level: 'trace', stream: log.stream } })
  t.teardown(() => app.close())
  const events: unknown[] = []
  app.gatekeeper.on('audit', (e: unknown) => events.push(e))
  const { secret, recoveryCodes } = await enrol(app, clock)
  const challenge = await firstStep(app)
  const code = totpCode(secret, clock.now)
  await post(app, '/api/login/mfa', { challenge, code: code === '000000' ? '111111' : '000000' })
  await post(app, '/api/login/mfa', { challenge, code })
  const second = await firstStep(app)
  await post(app, '/api/login/mfa', { challenge: second, recoveryCode: recoveryCodes[0] })
  const text = log.lines.join('\n') + JSON.stringify(events)
  t.ok(events.length > 5, 'events were recorded')
  for (const [what, value] of [['secret', secret], ['challenge', challenge], ['second challenge', second], ['recovery code', recoveryCodes[0]?.replaceAll('-', '')], ['recovery code', recoveryCodes[0]]] as const) {
    t.notOk(text.includes(value as string), `no ${what}`)
  }
  t.notOk(new RegExp(`\\b${code}\\b`).test(text), 'no TOTP code')
  t.ok(events.some((e) => (e as { type: string }).type === 'mfa.recovery_code_used'))
  t.ok(events.some((e) => (e as { type: string }).type === 'mfa.failure'))
})

await runTable(t, 'memory', async () => memoryStore())
await runTable(t, 'sqlite', async () => sqliteStore({ filename: ':memory:' }))
const pgTest = t.test('postgres', async (t) => {
  if (!await requirePostgres(t)) return
  const schemas: string[] = []
  const stores: GatekeeperStore[] = []
  t.teardown(async () => {
    for (const s of stores) await s.close()
    const pg = (await import('pg')).default
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await client.end()
  })
  await runTable(t, 'postgres', async () => {
    const schema = uniqueSchema('mfa')
    schemas.push(schema)
    const store = postgresStore({ connectionString: POSTGRES_URL, schema, max: 3 })
    return store
  })
})
await pgTest
