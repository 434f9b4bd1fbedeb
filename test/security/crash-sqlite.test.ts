import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import { auditSweep } from './helpers.js'
import { checkInvariants, checkTokens, reopenedApp, stormAndKill, type Journal } from './crash.js'

// Crash safety of the SQLite store (WAL, synchronous FULL): a process rotating refresh tokens is SIGKILLed
// mid-storm, twice; after each restart nothing is lost, half-done or accepted twice (ASVS 3.3, 11.1.x; CWE-362).
const dir = mkdtempSync(join(tmpdir(), 'gk-security-crash-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = join(dir, 'auth.db')

for (const round of [1, 2]) {
  t.test(`SQLite, round ${round}: SIGKILL mid-storm, then restart`, async (t) => {
    const journal: Journal = { families: new Map(), lines: 0 }
    await stormAndKill(t, ['sqlite', file], 300 * round, journal)

    const raw = new Database(file)
    t.teardown(() => { if (raw.open) raw.close() })
    t.equal(raw.pragma('integrity_check', { simple: true }), 'ok', 'the database file is intact (PRAGMA integrity_check)')
    t.same(raw.pragma('foreign_key_check'), [], 'no dangling foreign keys')
    await checkInvariants(t, async (sql) => raw.prepare(sql).all() as Array<Record<string, unknown>>, 'gk_refresh_tokens', 'gk_refresh_families')
    raw.close()

    let store
    try {
      store = sqliteStore({ filename: file })
      t.pass('the store opens cleanly (WAL recovered, migrations current)')
    } catch (err) {
      t.fail(`the store does not open after the crash: ${(err as Error).message}`)
      return
    }
    const app = await reopenedApp(store)
    t.teardown(() => app.close())
    await checkTokens(t, app, journal)
  })
}

auditSweep(t)
