import t from 'tap'
import { apiKey } from '../../lib/api-key/index.js'
import { jwtApp, loginAs } from './helpers.js'

t.test('with the apiKey plugin, a Bearer API key reaches its strategy and a Bearer JWT reaches jwt', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  await app.register(apiKey, { prefix: 'gk' })
  const { token, id } = await loginAs(app)
  const { key } = await app.gatekeeper.apiKeys!.create({ ownerId: id, name: 'job' })
  const byKey = await app.inject({ url: '/me', headers: { authorization: `Bearer ${key}` } })
  t.equal(byKey.statusCode, 200)
  t.match(byKey.json(), { strategy: 'apiKey', kind: 'application', subject: id })
  const byToken = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.match(byToken.json(), { strategy: 'jwt', kind: 'user', subject: id })
})
