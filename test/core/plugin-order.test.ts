import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/index.js'
import { accounts } from '../../lib/accounts/index.js'
import { apiKey } from '../../lib/api-key/index.js'
import { dpop } from '../../lib/dpop/index.js'
import { jwt } from '../../lib/jwt/index.js'
import { mfa } from '../../lib/mfa/index.js'
import { oauth2 } from '../../lib/oauth2/index.js'
import { passkeys } from '../../lib/passkeys/index.js'
import { rbac } from '../../lib/rbac/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { resourceServer } from '../../lib/resource-server/index.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { versioning } from '../../lib/versioning/index.js'

// Registered before what it needs, a plugin says so with the names users write
// (it used to be FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED naming 'gatekeeper-jwt').
const PLUGINS: Array<[name: string, plugin: unknown, needsJwt: boolean]> = [
  ['jwt', jwt, false], ['apiKey', apiKey, false], ['rbac', rbac, false], ['versioning', versioning, false],
  ['resourceServer', resourceServer, false], ['dpop', dpop, false],
  ['refresh', refresh, true], ['oauth2', oauth2, true], ['accounts', accounts, true], ['mfa', mfa, true], ['passkeys', passkeys, true]
]

for (const [name, plugin, needsJwt] of PLUGINS) {
  t.test(`${name} registered before the core: GK_CONFIG naming the gatekeeper plugin`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(plugin as never, {} as never) }, {
      code: 'GK_CONFIG',
      message: new RegExp(`register the gatekeeper plugin before ${name}`)
    })
  })
  if (!needsJwt) continue
  t.test(`${name} registered before jwt: GK_CONFIG naming the jwt plugin`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(gatekeeper, { store: memoryStore() })
    await t.rejects(async () => { await app.register(plugin as never, {} as never) }, {
      code: 'GK_CONFIG',
      message: new RegExp(`register the jwt plugin before ${name}: \`await app.register\\(jwt, …\\)\` comes first`)
    })
  })
}
