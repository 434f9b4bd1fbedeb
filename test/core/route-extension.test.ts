import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { coreApp } from '../helpers.js'

t.test('afterAuthentication steps run once the request is let in, with request.auth set, on the routes they were given for', async (t) => {
  const app = await coreApp()
  t.teardown(() => app.close())
  const seen: Array<[string, string | null]> = []
  app.gatekeeper.registerStrategy({
    name: 'slow',
    scheme: 'Slow',
    authenticate: async (request: FastifyRequest) => {
      const v = request.headers['x-slow']
      await new Promise((resolve) => setImmediate(resolve))
      return typeof v === 'string' ? { strategy: 'slow', kind: 'user', subject: v, roles: [], permissions: [] } : null
    }
  })
  app.gatekeeper.addRouteExtension({
    afterAuthentication: (url) => url.startsWith('/watched') ? [(request) => { seen.push([url, request.auth?.subject ?? null]) }] : []
  })
  app.get('/watched/sync', { config: { auth: 'test' } }, async () => 'ok')
  app.get('/watched/async', { config: { auth: 'slow' } }, async () => 'ok')
  app.get('/watched/public', { config: { auth: false } }, async () => 'ok')
  app.get('/watched/optional', { config: { auth: { strategies: ['test'], optional: true } } }, async () => 'ok')
  app.get('/other', { config: { auth: 'test' } }, async () => 'ok')

  const rows: Array<[string, Record<string, string>, number, [string, string | null] | null]> = [
    ['/watched/sync', { 'x-test-user': 'ann' }, 200, ['/watched/sync', 'ann']],
    ['/watched/sync', {}, 401, null],
    ['/watched/sync', { 'x-test-user': 'bad' }, 401, null],
    ['/watched/async', { 'x-slow': 'bob' }, 200, ['/watched/async', 'bob']],
    ['/watched/async', {}, 401, null],
    ['/watched/public', {}, 200, ['/watched/public', null]],
    ['/watched/optional', {}, 200, ['/watched/optional', null]],
    ['/other', { 'x-test-user': 'ann' }, 200, null]
  ]
  for (const [url, headers, status, step] of rows) {
    seen.length = 0
    t.equal((await app.inject({ url, headers })).statusCode, status, `${url} ${JSON.stringify(headers)}`)
    t.same(seen, step === null ? [] : [step], 'steps run exactly when the request is let in')
  }
})
