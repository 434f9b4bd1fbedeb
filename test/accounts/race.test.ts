import t from 'tap'
import pg from 'pg'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryStore } from '../../lib/stores/memory.js'
import { postgresStore } from '../../lib/stores/postgres.js'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { POSTGRES_URL, requirePostgres, uniqueSchema } from '../stores/postgres-env.js'
import { accountsApp, createUser, login, PASSWORD, post } from './helpers.js'
import { outbox, tokenOf } from './smtp.js'

const dir = mkdtempSync(join(tmpdir(), 'gk-accounts-race-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const stores: Array<[string, () => Promise<GatekeeperStore | null>]> = [
  ['memory', async () => memoryStore()],
  ['sqlite', async () => sqliteStore({ filename: join(dir, 'race.db') })],
  ['postgres', async () => {
    if (!await requirePostgres(t)) return null
    const schema = uniqueSchema('accounts_race')
    t.teardown(async () => {
      const admin = new pg.Client({ connectionString: POSTGRES_URL })
      await admin.connect()
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await admin.end()
    })
    return postgresStore({ connectionString: POSTGRES_URL, schema })
  }]
]

for (const [name, make] of stores) {
  t.test(`${name}: concurrent uses of one token — exactly one wins`, async (t) => {
    const store = await make()
    if (store === null) return
    const box = outbox()
    const { app } = await accountsApp({ store, accounts: { send: box.send } })
    t.teardown(() => app.close())
    await createUser(app, 'racer', 'racer@example.org')
    await app.gatekeeper.accounts?.requestPasswordReset({ username: 'racer' })
    const token = tokenOf(box.mails[0]?.url as string)
    const passwords = Array.from({ length: 6 }, (_, i) => `racing passphrase number ${i}`)
    const results = await Promise.all(passwords.map((newPassword) => post(app, '/api/password/reset', { token, newPassword })))
    const won = results.flatMap((r, i) => r.status === 204 ? [i] : [])
    t.equal(won.length, 1, 'one 204')
    t.ok(results.every((r) => r.status === 204 || (r.status === 401 && r.body.code === 'GK_INVALID_GRANT')), 'the others 401 GK_INVALID_GRANT')
    t.equal((await login(app, 'racer', passwords[won[0] as number])).status, 200, "the winner's password is the one stored")
    t.equal((await login(app, 'racer', PASSWORD)).status, 401)

    // The reset proved racer's address; a second account still has one to verify.
    await app.gatekeeper.accounts?.requestVerification(await createUser(app, 'second', 'second@example.org'))
    const verify = tokenOf(box.mails.find((m) => m.kind === 'email_verification')?.url as string)
    const checks = await Promise.all(Array.from({ length: 6 }, () => post(app, '/api/email/verify', { token: verify })))
    t.equal(checks.filter((r) => r.status === 204).length, 1, 'one verification')
  })
}
