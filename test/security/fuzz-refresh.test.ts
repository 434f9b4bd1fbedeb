import fc from 'fast-check'
import t from 'tap'
import { auditSweep, createUser, login, remember, securityApp } from './helpers.js'
import { fuzz, headerString, mutate } from './fuzz.js'

// POST /api/token/refresh bodies (RFC 6749 §6, RFC 9700 §4.14; ASVS 3.5, 13.1). Two sessions: the mutations
// are made from one that is never presented verbatim (it must survive the storm), and the other is presented
// whenever the fuzzer picks GENUINE, with the successor of each rotation replacing it.
const { app } = await securityApp({ refresh: { transport: 'body' }, rbac: false })
t.teardown(() => app.close())
await createUser(app, 'alice')
const target = (await login(app, 'alice')).body.refreshToken as string
let live = (await login(app, 'alice')).body.refreshToken as string
const GENUINE = Symbol('genuine')

const tokenLike = fc.oneof(
  { weight: 4, arbitrary: mutate(target).filter((s) => s !== target) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 43, maxLength: 43 }) },
  { weight: 1, arbitrary: headerString(80) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }
)
type Input = typeof GENUINE | { body: string, type: string }
const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ refreshToken: tokenLike, extra: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['refreshToken'] }).map((o) => ({ body: JSON.stringify(o), type: 'application/json' })) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => ({ body: JSON.stringify(v) ?? '', type: 'application/json' })) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 200 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', '')).map(([body, type]) => ({ body, type })) },
  { weight: 1, arbitrary: mutate(JSON.stringify({ refreshToken: target })).filter((b) => !b.includes(target)).map((body) => ({ body, type: 'application/json' })) },
  { weight: 1, arbitrary: fc.constant(GENUINE) }
)

t.test('fuzz: refresh bodies [RFC 6749 §6; RFC 9700 §4.14; ASVS 3.5, 13.1]', async (t) => {
  await fuzz<Input>(t, app, {
    name: 'refresh body',
    arbitrary: input,
    request: (i) => i === GENUINE
      ? { method: 'POST', url: '/api/token/refresh', payload: { refreshToken: live } }
      : { method: 'POST', url: '/api/token/refresh', headers: i.type === '' ? {} : { 'content-type': i.type }, payload: i.body },
    genuine: (i) => i === GENUINE,
    accepted: (_i, res) => { live = remember(res.json().refreshToken as string); remember(res.json().accessToken) }
  })
  const last = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: target } })
  t.equal(last.statusCode, 200, 'the session the mutations came from survived them: no mutation consumed or revoked it')
  remember(last.json().refreshToken)
  remember(live)
})

auditSweep(t)
