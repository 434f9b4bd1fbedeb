import Fastify from 'fastify'
import t from 'tap'
import { parseRouteTable } from '../../lib/core/route-table.js'

t.test('parseRouteTable reads every route of Fastify\'s printed table, one per method and constraint set', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/', async () => 'x')
  app.get('/early', async () => 'x')
  app.get('/a/:id', async () => 'x')
  app.get('/a/:id/x', async () => 'x')
  app.route({ method: ['POST', 'DELETE'], url: '/n/:id(^\\d+$)', handler: async () => 'x' })
  app.get('/v', { constraints: { version: '1.0.0' } }, async () => 'x')
  app.get('/v', { constraints: { version: '2.0.0' } }, async () => 'x')
  app.get('/odd (GET)', async () => 'x')
  app.register(async (i) => { i.get('/', async () => 'x') }, { prefix: '/p' })
  await app.ready()
  const rows = parseRouteTable(app.printRoutes({ commonPrefix: false })).map((r) => `${r.method} ${r.url}`)
  t.same(rows.sort(), [
    'DELETE /n/:id(^\\d+$)', 'GET /', 'GET /a/:id', 'GET /a/:id/x', 'GET /early', 'GET /odd (GET)', 'GET /p', 'GET /p/', 'GET /v', 'GET /v',
    'HEAD /', 'HEAD /a/:id', 'HEAD /a/:id/x', 'HEAD /early', 'HEAD /odd (GET)', 'HEAD /p', 'HEAD /p/', 'HEAD /v', 'HEAD /v', 'POST /n/:id(^\\d+$)'
  ])
})

t.test('an empty table, and lines that are not routes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.ready()
  t.same(parseRouteTable(app.printRoutes({ commonPrefix: false })), [])
  t.same(parseRouteTable('(empty tree)\n\n└── /x\n'), [])
})
