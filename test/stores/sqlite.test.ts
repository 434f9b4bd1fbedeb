import t from 'tap'
import Database from 'better-sqlite3'
import { fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sqliteStore, type SqliteStoreOptions } from '../../lib/stores/sqlite.js'
import { migrateSqlite, SQLITE_MIGRATIONS } from '../../lib/stores/sqlite/migrations.js'
import { storeConformance } from 'fastify-gatekeeper/testing/store'

const dir = mkdtempSync(join(tmpdir(), 'gk-sqlite-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = (): string => join(dir, `store-${++n}.db`)
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

storeConformance(t, 'sqlite (file)', async () => sqliteStore({ filename: file() }))
storeConformance(t, 'sqlite (:memory:)', async () => sqliteStore({ filename: ':memory:' }))

t.test('data survives closing and reopening the file', async (t) => {
  const filename = file()
  const first = sqliteStore({ filename })
  const u = await first.users.create({ username: 'Persistent', passwordHash: 'h', roles: ['admin'] })
  const k = await first.apiKeys.create({ ownerId: u.id, name: 'ci', start: 'gk_abc', hash: sha('key'), scopes: ['a'] })
  const { family } = await first.refreshTokens.createFamily({ userId: u.id, expiresAt: new Date(Date.now() + 3_600_000) }, { hash: sha('rt'), expiresAt: new Date(Date.now() + 60_000) })
  await first.refreshTokens.consume(sha('rt'), new Date())
  await first.close()

  const second = sqliteStore({ filename })
  t.teardown(() => second.close())
  t.same(await second.users.findByLogin('persistent'), u)
  t.same(await second.apiKeys.findByHash(sha('key')), k)
  t.same(await second.refreshTokens.findFamily(family.id), { ...family, lastUsedAt: (await second.refreshTokens.findFamily(family.id))?.lastUsedAt })
  t.not((await second.refreshTokens.findFamily(family.id))?.lastUsedAt, family.lastUsedAt)
  t.match(await second.refreshTokens.consume(sha('rt'), new Date()), { status: 'reused' }, 'a consumed token stays consumed')
})

t.test('the file is in WAL mode, migrated once, with dates as integer milliseconds', async (t) => {
  const filename = file()
  for (let i = 0; i < 2; i++) {
    const store = sqliteStore({ filename, synchronous: 'normal' })
    await store.users.create({ username: `user${i}`, passwordHash: null })
    await store.close()
  }
  const db = new Database(filename, { readonly: true })
  t.teardown(() => db.close())
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.same(db.prepare('SELECT version, name FROM gk_migrations').all(), SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })))
  const row = db.prepare("SELECT login, created_at FROM gk_users WHERE username = 'user0'").get() as { login: string, created_at: unknown }
  t.equal(row.login, 'user0')
  t.type(row.created_at, 'number')
})

t.test('a file of the first schema version is upgraded on open: its data kept, OAuth clients and identities usable', async (t) => {
  const filename = file()
  const old = new Database(filename)
  t.same(migrateSqlite(old, SQLITE_MIGRATIONS.slice(0, 1)), [{ version: 1, name: 'initial schema' }])
  old.prepare("INSERT INTO gk_users (id, username, login, password_hash, roles, disabled, created_at, updated_at) VALUES ('u1', 'Old', 'old', NULL, '[\"admin\"]', 0, 1, 1)").run()
  old.close()
  const store = sqliteStore({ filename })
  t.teardown(() => store.close())
  t.match(await store.users.findByLogin('old'), { id: 'u1', roles: ['admin'] })
  const link = { issuer: 'https://sso.example', subject: 's1', userId: 'u1', provider: 'corp', createdAt: new Date() }
  t.same(await store.identities?.create(link), link)
  t.equal((await store.oauthClients?.list())?.length, 0)
  const db = new Database(filename, { readonly: true })
  t.teardown(() => db.close())
  t.same(db.prepare('SELECT version FROM gk_migrations ORDER BY version').all(), SQLITE_MIGRATIONS.map((m) => ({ version: m.version })))
})

t.test('a file of schema version 2 is upgraded on open: users, keys and links kept, emails and account tokens usable', async (t) => {
  const filename = file()
  const old = new Database(filename)
  t.same(migrateSqlite(old, SQLITE_MIGRATIONS.slice(0, 2)).map((m) => m.version), [1, 2])
  old.prepare("INSERT INTO gk_users (id, username, login, password_hash, roles, disabled, created_at, updated_at) VALUES ('u1', 'Old', 'old', '$argon2id$x', '[\"admin\"]', 0, 1, 1)").run()
  old.prepare("INSERT INTO gk_identities (issuer, subject, user_id, provider, created_at) VALUES ('https://sso.example', 's1', 'u1', 'corp', 1)").run()
  old.prepare("INSERT INTO gk_api_keys (id, owner_id, name, start, hash, created_at) VALUES ('k1', 'u1', 'ci', 'gk_abc', ?, 1)").run(sha('old-key'))
  old.close()
  const store = sqliteStore({ filename })
  t.teardown(() => store.close())
  t.match(await store.users.findByLogin('old'), { id: 'u1', roles: ['admin'], passwordHash: '$argon2id$x', email: null, emailVerifiedAt: null })
  t.match(await store.identities?.find('https://sso.example', 's1'), { userId: 'u1' })
  t.match(await store.apiKeys.findByHash(sha('old-key')), { id: 'k1', ownerId: 'u1' })
  const at = new Date(Date.now() - 1000)
  t.match(await store.users.update('u1', { email: 'old@example.org', emailVerifiedAt: at }), { email: 'old@example.org', emailVerifiedAt: at })
  t.equal((await store.users.findByEmail?.('OLD@example.org'))?.id, 'u1')
  await store.accountTokens?.create({ hash: sha('upgraded'), userId: 'u1', kind: 'password_reset', expiresAt: new Date(Date.now() + 60_000) })
  t.ok(await store.accountTokens?.consume(sha('upgraded'), 'password_reset', new Date()))
  const db = new Database(filename, { readonly: true })
  t.teardown(() => db.close())
  t.same(db.prepare('SELECT version FROM gk_migrations ORDER BY version').all(), SQLITE_MIGRATIONS.map((m) => ({ version: m.version })))
})

t.test('a file of schema version 3 is upgraded on open: sessions kept without an authentication record, second factors usable', async (t) => {
  const filename = file()
  const old = new Database(filename)
  t.same(migrateSqlite(old, SQLITE_MIGRATIONS.slice(0, 3)).map((m) => m.version), [1, 2, 3])
  old.prepare("INSERT INTO gk_refresh_families (id, user_id, created_at, last_used_at, expires_at) VALUES ('f1', 'u1', 1, 1, ?)").run(Date.now() + 60_000)
  old.close()
  const store = sqliteStore({ filename })
  t.teardown(() => store.close())
  t.match(await store.refreshTokens.findFamily('f1'), { userId: 'u1', authTime: null, amr: null })
  const f = await store.mfaFactors?.create({ userId: 'u1', kind: 'totp', secret: 'k1:x' })
  t.equal(await store.mfaFactors?.acceptStep(f?.id as string, 1, new Date(), true), true)
  const db = new Database(filename, { readonly: true })
  t.teardown(() => db.close())
  t.same(db.prepare('SELECT version FROM gk_migrations ORDER BY version').all(), SQLITE_MIGRATIONS.map((m) => ({ version: m.version })))
})

t.test('two processes consuming one account token of one file: exactly one gets it', async (t) => {
  const filename = file()
  const store = sqliteStore({ filename })
  const hashes: string[] = []
  for (let i = 0; i < 20; i++) {
    hashes.push(sha(`account-${i}`))
    await store.accountTokens?.create({ hash: sha(`account-${i}`), userId: `u${i}`, kind: 'password_reset', expiresAt: new Date(Date.now() + 600_000) })
  }
  await store.close()
  const script = fileURLToPath(new URL('./fixtures/sqlite-consumer.ts', import.meta.url))
  const children = [0, 1].map(() => fork(script, [filename, 'account'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  await Promise.all(children.map((c) => new Promise((resolve, reject) => { c.once('message', resolve); c.once('error', reject) })))
  const done = children.map((c) => new Promise<{ statuses: string[] }>((resolve, reject) => {
    c.once('message', (m) => resolve(m as { statuses: string[] }))
    c.once('exit', (code) => code !== 0 && reject(new Error(`consumer exited with ${code}`)))
  }))
  for (const c of children) c.send({ hashes, now: Date.now() })
  const [a, b] = await Promise.all(done)
  t.same(hashes.map((_, i) => [a?.statuses[i], b?.statuses[i]].filter((s) => s === 'ok').length), hashes.map(() => 1), 'one process got each token')
})

t.test('a database from a newer release is refused with GK_CONFIG', async (t) => {
  const filename = file()
  await sqliteStore({ filename }).close()
  const db = new Database(filename)
  db.prepare('INSERT INTO gk_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('future')
  db.close()
  t.throws(() => sqliteStore({ filename }), { code: 'GK_CONFIG', message: /newer than this release knows.*upgrade/ })
})

t.test('two processes consuming the same tokens of one file: each token is ok exactly once', async (t) => {
  const filename = file()
  const store = sqliteStore({ filename })
  const now = Date.now()
  const hashes: string[] = []
  for (let i = 0; i < 40; i++) {
    hashes.push(sha(`multi-${i}`))
    await store.refreshTokens.createFamily({ userId: 'u', expiresAt: new Date(now + 3_600_000) }, { hash: sha(`multi-${i}`), expiresAt: new Date(now + 600_000) })
  }
  await store.close()

  const script = fileURLToPath(new URL('./fixtures/sqlite-consumer.ts', import.meta.url))
  const children = [0, 1].map(() => fork(script, [filename], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const ready = children.map((c) => new Promise((resolve, reject) => { c.once('message', resolve); c.once('error', reject) }))
  await Promise.all(ready)
  const done = children.map((c) => new Promise<{ statuses: string[] }>((resolve, reject) => {
    c.once('message', (m) => resolve(m as { statuses: string[] }))
    c.once('exit', (code) => code !== 0 && reject(new Error(`consumer exited with ${code}`)))
  }))
  for (const c of children) c.send({ hashes, now })
  const [a, b] = await Promise.all(done)
  const oks = hashes.map((_, i) => [a?.statuses[i], b?.statuses[i]].filter((s) => s === 'ok').length)
  t.same(oks, hashes.map(() => 1), 'one ok per token')
  t.equal([...(a?.statuses ?? []), ...(b?.statuses ?? [])].filter((s) => s === 'reused').length, hashes.length, 'the other process saw reused')
})

t.test('a file that cannot be opened gives GK_CONFIG naming the file', async (t) => {
  const notADir = join(dir, 'plain.txt')
  writeFileSync(notADir, 'x')
  const rows: Array<[string, string, RegExp]> = [
    ['a missing directory', join(dir, 'missing', 'auth.db'), /directory does not exist/],
    ['a path under a regular file', join(notADir, 'auth.db'), /cannot be opened for writing|directory does not exist/],
    ['a directory', dir, /cannot be opened for writing/]
  ]
  for (const [what, filename, hint] of rows) {
    const err = t.throws(() => sqliteStore({ filename }), { code: 'GK_CONFIG', message: hint }, what) as Error
    t.ok(err.message.includes(filename), `${what}: the message names the file`)
  }
})

t.test('a corrupt file gives GK_CONFIG, not a crash', async (t) => {
  const text = file()
  writeFileSync(text, 'these are not the bytes you are looking for\n'.repeat(200))
  const damaged = file()
  const db = new Database(damaged)
  db.exec('CREATE TABLE x (a); INSERT INTO x VALUES (1)')
  db.close()
  const bytes = readFileSync(damaged)
  bytes.fill(0x41, 100, 4096)
  writeFileSync(damaged, bytes)
  for (const [what, filename] of [['a text file', text], ['a damaged database', damaged]]) {
    t.throws(() => sqliteStore({ filename: filename as string }), { code: 'GK_CONFIG', message: /not a valid SQLite database/ }, what)
  }
  t.equal(readFileSync(text, 'utf8').slice(0, 9), 'these are', 'the file is left untouched')
})

t.test('bad options are refused with GK_CONFIG saying what to change', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [undefined, /needs options/],
    [{}, /filename must be a path/],
    [{ filename: '  ' }, /filename must be a path/],
    [{ filename: ':memory:', busyTimout: 10 }, /unknown option 'busyTimout'/],
    [{ filename: ':memory:', busyTimeout: 'soon' }, /busyTimeout/],
    [{ filename: ':memory:', busyTimeout: '1h' }, /busyTimeout must be between/],
    [{ filename: ':memory:', synchronous: 'off' }, /synchronous must be/]
  ]
  for (const [opts, message] of rows) t.throws(() => sqliteStore(opts as SqliteStoreOptions), { code: 'GK_CONFIG', message }, JSON.stringify(opts))
})

t.test('a lock held past busyTimeout gives GK_STORE_UNAVAILABLE', async (t) => {
  const filename = file()
  const store = sqliteStore({ filename, busyTimeout: 50 })
  t.teardown(() => store.close())
  const other = new Database(filename)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  await t.rejects(store.users.create({ username: 'blocked', passwordHash: null }), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(store.refreshTokens.consume(sha('x'), new Date()), { code: 'GK_STORE_UNAVAILABLE' })
  other.exec('ROLLBACK')
  t.ok(await store.users.create({ username: 'unblocked', passwordHash: null }))
})

t.test('a closed store rejects with GK_STORE_UNAVAILABLE', async (t) => {
  const store = sqliteStore({ filename: ':memory:' })
  await store.close()
  await t.rejects(store.users.findByLogin('x'), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(store.refreshTokens.consume(sha('x'), new Date()), { code: 'GK_STORE_UNAVAILABLE' })
})

t.test('a store spread with a custom users repository keeps working', async (t) => {
  const base = sqliteStore({ filename: ':memory:' })
  const store = { ...base, users: { ...base.users } }
  t.teardown(() => store.close())
  const u = await store.users.create({ username: 'spread', passwordHash: null })
  t.equal((await store.users.findById(u.id))?.username, 'spread')
})
