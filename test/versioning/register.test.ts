import Fastify from 'fastify'
import t from 'tap'
import { versioning } from '../../lib/versioning/plugin.js'
import { build, STANDARD } from './helpers.js'

t.test('options are validated at registration', async (t) => {
  const { app } = await build({ versioning: false })
  t.teardown(() => app.close())
  await t.rejects(
    async () => { await app.register(versioning, { versions: { v1: { deprecated: '2027-01-01', sunset: '2026-01-01' } } }) },
    { code: 'GK_CONFIG', message: /sunset must be after/ }
  )
})

t.test('registering the plugin twice is refused', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(versioning, STANDARD) }, { code: 'GK_CONFIG', message: /registered twice/ })
})

t.test('the core plugin is required', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(versioning, STANDARD) }, /gatekeeper/)
})
