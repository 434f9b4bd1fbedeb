import t from 'tap'
import { redactUrl, secureLogger } from '../../lib/core/logging.js'
import type { AuditEvent } from '../../lib/core/types.js'
import { capture, coreApp } from '../helpers.js'

// An application's own events join the catalogue the same way a plugin's do.
declare module '../../lib/core/events.js' {
  interface AuditEvents {
    'custom.thing': { detail: number }
    x: Record<string, unknown>
    y: Record<string, unknown>
    burst: Record<string, unknown>
    after: Record<string, unknown>
  }
}

t.test('an audit event reaches the log, onEvent, and listeners with request data filled in', async (t) => {
  const { stream, lines } = capture()
  const seen: AuditEvent[] = []
  const app = await coreApp({ audit: { onEvent: (e) => { seen.push(e) } }, now: () => 1_700_000_000_000 }, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const all: AuditEvent[] = []
  const typed: AuditEvent[] = []
  app.gatekeeper.on('audit', (e) => all.push(e))
  const off = app.gatekeeper.on('custom.thing', (e) => typed.push(e))
  app.get('/do', async (req) => {
    app.gatekeeper.record({ type: 'custom.thing', outcome: 'success', detail: 7 }, req)
    return 'ok'
  })
  await app.inject({ url: '/do', headers: { 'x-test-user': 'alice', 'user-agent': 'tester/1.0' } })
  off()
  await app.inject({ url: '/do', headers: { 'x-test-user': 'alice' } })
  t.equal(seen.length, 2)
  t.equal(typed.length, 1)
  t.equal(all.length, 2)
  t.match(seen[0], { type: 'custom.thing', outcome: 'success', subject: 'alice', ip: '127.0.0.1', userAgent: 'tester/1.0', detail: 7 })
  t.equal(seen[0].time.getTime(), 1_700_000_000_000)
  t.type(seen[0].requestId, 'string')
  const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.event !== undefined)
  t.equal(logged.length, 2)
  t.equal(logged[0].event.type, 'custom.thing')
  t.equal(logged[0].level, 30)
})

t.test('a failing onEvent or listener never fails the request', async (t) => {
  const app = await coreApp({ audit: { onEvent: async () => { throw new Error('sink down') }, log: false } })
  t.teardown(() => app.close())
  app.gatekeeper.on('x', () => { throw new Error('listener bug') })
  app.get('/do', { config: { auth: false } }, async (req) => {
    app.gatekeeper.record({ type: 'x' }, req)
    return 'fine'
  })
  const res = await app.inject('/do')
  t.equal(res.statusCode, 200)

  const sync = await coreApp({ audit: { onEvent: () => { throw new Error('sync sink down') }, log: false } })
  t.teardown(() => sync.close())
  t.doesNotThrow(() => sync.gatekeeper.record({ type: 'y' }))
})

t.test('in-flight onEvent calls are bounded and overflow is counted', async (t) => {
  const pending: Array<() => void> = []
  const app = await coreApp({ audit: { log: false, maxPending: 3, onEvent: () => new Promise<void>((resolve) => { pending.push(resolve) }) } })
  t.teardown(() => app.close())
  for (let i = 0; i < 10; i++) app.gatekeeper.record({ type: 'burst' })
  t.equal(pending.length, 3)
  t.equal(app.gatekeeper.audit.dropped, 7)
  pending.forEach((r) => r())
  await new Promise((resolve) => setImmediate(resolve))
  app.gatekeeper.record({ type: 'after' })
  t.equal(pending.length, 4)
})

t.test('an anomaly emitted by a plugin reaches on("anomaly") listeners', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const got: unknown[] = []
  app.gatekeeper.on('anomaly', (a) => got.push(a))
  app.gatekeeper.emit('anomaly', { type: 'credential_stuffing', ip: '10.0.0.1' })
  t.same(got, [{ type: 'credential_stuffing', ip: '10.0.0.1' }])
})

t.test('logs of a request carrying secrets contain none of them', async (t) => {
  const { stream, lines } = capture()
  const app = await coreApp({}, { logger: secureLogger({ level: 'trace', stream }) })
  t.teardown(() => app.close())
  app.post('/echo', async (req) => {
    req.log.info({ headers: req.headers, body: req.body }, 'handler saw the request')
    throw new Error('boom')
  })
  const secrets = ['s3cr3t-passw0rd', 'eyJhbGciOiJIUzI1NiJ9.payload.sig', 'gk_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd123456', 'refresh-abc-123', 'session=cookie-value']
  await app.inject({
    method: 'POST',
    url: '/echo?api_key=gk_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd123456&page=2',
    headers: {
      'x-test-user': 'alice',
      authorization: `Bearer ${secrets[1]}`,
      'x-api-key': secrets[2],
      cookie: secrets[4]
    },
    payload: { username: 'alice', password: secrets[0], refreshToken: secrets[3] }
  })
  const text = lines.join('\n')
  t.ok(text.includes('handler saw the request'), 'the handler line was logged')
  t.ok(text.includes('page=2'), 'non-secret query parameters stay')
  for (const s of secrets) t.notOk(text.includes(s), `log holds no ${s.slice(0, 8)}…`)
})

t.test('redactUrl scrubs credential-looking query parameters only', async (t) => {
  t.equal(redactUrl('/a?access_token=xyz&b=1'), '/a?access_token=[Redacted]&b=1')
  t.equal(redactUrl('/a?b=1&API_KEY=xyz'), '/a?b=1&API_KEY=[Redacted]')
  t.equal(redactUrl('/plain'), '/plain')
  t.equal(redactUrl('/a?monkey=1'), '/a?monkey=1')
})

t.test('secureLogger keeps the caller\'s own redact paths and serializers', async (t) => {
  const opts = secureLogger({ redact: ['req.body.ssn'], serializers: { res: (r: unknown) => r } }) as { redact: { paths: string[] }, serializers: Record<string, unknown> }
  t.ok(opts.redact.paths.includes('req.body.ssn'))
  t.ok(opts.redact.paths.includes('req.headers.authorization'))
  t.type(opts.serializers.res, 'function')
  t.type(opts.serializers.req, 'function')
  const withObj = secureLogger({ redact: { paths: ['x.y'] } }) as { redact: { paths: string[] } }
  t.ok(withObj.redact.paths.includes('x.y'))
})
