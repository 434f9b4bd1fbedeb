import t from 'tap'
import pg from 'pg'
import Fastify from 'fastify'
import { createHash } from 'node:crypto'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { postgresStore, type PostgresStoreOptions } from '../../lib/stores/postgres.js'
import { POSTGRES_MIGRATIONS, migratePostgres } from '../../lib/stores/postgres/migrations.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { storeConformance } from 'fastify-gatekeeper/testing/store'
import { POSTGRES_URL, TcpProxy, requirePostgres, uniqueSchema } from './postgres-env.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const HOUR = 3_600_000

if (await requirePostgres(t)) {
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 })
  admin.on('error', () => {})
  const schemas = new Set<string>()
  const schemaFor = (tag: string): string => {
    const s = uniqueSchema(tag)
    schemas.add(s)
    return s
  }
  const schema = schemaFor('test')
  t.teardown(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await admin.end()
  })

  const open = (opts: Partial<PostgresStoreOptions> = {}): GatekeeperStore =>
    postgresStore({ connectionString: POSTGRES_URL, schema, ...opts } as PostgresStoreOptions)

  storeConformance(t, 'postgres', async () => {
    const store = open()
    await store.init?.()
    await admin.query(`TRUNCATE "${schema}".gk_users, "${schema}".gk_api_keys, "${schema}".gk_refresh_tokens, "${schema}".gk_refresh_families, "${schema}".gk_oauth_clients, "${schema}".gk_identities, "${schema}".gk_account_tokens, "${schema}".gk_mfa_factors, "${schema}".gk_recovery_codes, "${schema}".gk_webauthn_credentials, "${schema}".gk_challenges`)
    return store
  })

  t.test('migrations: two instances starting together apply each version once; init is idempotent', async (t) => {
    const s = schemaFor('mig')
    const stores = [0, 1, 2].map(() => open({ schema: s }))
    t.teardown(() => Promise.all(stores.map((x) => x.close())))
    await Promise.all(stores.map((x) => x.init?.()))
    await stores[0]?.init?.()
    const { rows } = await admin.query(`SELECT version, name FROM "${s}".gk_migrations ORDER BY version`)
    t.same(rows, POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })))
    t.same(await migratePostgres(admin, `"${s}"`, 10_000), [], 'nothing left to apply')
    const indexes = await admin.query('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [s])
    const names = indexes.rows.map((r: { indexname: string }) => r.indexname)
    for (const ix of ['gk_users_login_key', 'gk_api_keys_hash_key', 'gk_api_keys_owner_idx', 'gk_refresh_tokens_hash_key', 'gk_refresh_tokens_family_idx', 'gk_refresh_families_user_idx', 'gk_refresh_families_expires_idx', 'gk_refresh_tokens_expires_idx', 'gk_oauth_clients_pkey', 'gk_identities_pkey', 'gk_identities_user_idx',
      'gk_users_email_normalized_key', 'gk_account_tokens_hash_key', 'gk_account_tokens_live_idx', 'gk_account_tokens_user_idx', 'gk_account_tokens_expires_idx']) {
      t.ok(names.includes(ix), `index ${ix}`)
    }
  })

  t.test('a schema of the first version is upgraded by init: its data kept, OAuth clients and identities usable', async (t) => {
    const s = schemaFor('upgrade')
    t.same(await migratePostgres(admin, `"${s}"`, 10_000, POSTGRES_MIGRATIONS.slice(0, 1)), [{ version: 1, name: 'initial schema' }])
    await admin.query(`INSERT INTO "${s}".gk_users (id, username, login, roles, created_at, updated_at) VALUES ('u1', 'Old', 'old', '{admin}', now(), now())`)
    const stale = open({ schema: s, migrate: false })
    t.teardown(() => stale.close())
    await t.rejects(stale.init?.() as Promise<void>, { code: 'GK_CONFIG', message: new RegExp(`version 1, this release needs ${POSTGRES_MIGRATIONS.length}`) })
    const store = open({ schema: s })
    t.teardown(() => store.close())
    await store.init?.()
    t.match(await store.users.findByLogin('old'), { id: 'u1', roles: ['admin'] })
    const link = { issuer: 'https://sso.example', subject: 's1', userId: 'u1', provider: 'corp', createdAt: new Date(Math.floor(Date.now())) }
    t.same(await store.identities?.create(link), link)
    t.same(await store.oauthClients?.list(), [])
  })

  t.test('a schema of version 2 is upgraded by init: users and their links kept, emails and account tokens usable', async (t) => {
    const s = schemaFor('upgrade2')
    t.same(await migratePostgres(admin, `"${s}"`, 10_000, POSTGRES_MIGRATIONS.slice(0, 2)), POSTGRES_MIGRATIONS.slice(0, 2).map((m) => ({ version: m.version, name: m.name })))
    await admin.query(`INSERT INTO "${s}".gk_users (id, username, login, password_hash, roles, created_at, updated_at) VALUES ('u1', 'Old', 'old', '$argon2id$x', '{admin}', now(), now())`)
    await admin.query(`INSERT INTO "${s}".gk_identities (issuer, subject, user_id, provider, created_at) VALUES ('https://sso.example', 's1', 'u1', 'corp', now())`)
    const stale = open({ schema: s, migrate: false })
    t.teardown(() => stale.close())
    await t.rejects(stale.init?.() as Promise<void>, { code: 'GK_CONFIG', message: new RegExp(`version 2, this release needs ${POSTGRES_MIGRATIONS.length}`) })
    const store = open({ schema: s })
    t.teardown(() => store.close())
    await store.init?.()
    t.match(await store.users.findByLogin('old'), { id: 'u1', roles: ['admin'], passwordHash: '$argon2id$x', email: null, emailVerifiedAt: null })
    t.match(await store.identities?.find('https://sso.example', 's1'), { userId: 'u1' })
    const at = new Date(Math.floor(Date.now()))
    t.match(await store.users.update('u1', { email: 'old@example.org', emailVerifiedAt: at }), { email: 'old@example.org', emailVerifiedAt: at })
    t.equal((await store.users.findByEmail?.('OLD@example.org'))?.id, 'u1')
    const token = await store.accountTokens?.create({ hash: sha('upgraded'), userId: 'u1', kind: 'password_reset', expiresAt: new Date(Date.now() + HOUR) })
    t.ok(await store.accountTokens?.consume(token?.hash as string, 'password_reset', new Date()))
  })

  t.test('a schema of version 3 is upgraded by init: sessions kept without an authentication record, second factors usable', async (t) => {
    const s = schemaFor('upgrade3')
    t.same((await migratePostgres(admin, `"${s}"`, 10_000, POSTGRES_MIGRATIONS.slice(0, 3))).map((m) => m.version), [1, 2, 3])
    await admin.query(`INSERT INTO "${s}".gk_refresh_families (id, user_id, created_at, last_used_at, expires_at) VALUES ('f1', 'u1', now(), now(), now() + interval '1 day')`)
    const store = open({ schema: s })
    t.teardown(() => store.close())
    await store.init?.()
    t.match(await store.refreshTokens.findFamily('f1'), { userId: 'u1', authTime: null, amr: null })
    const f = await store.mfaFactors?.create({ userId: 'u1', kind: 'totp', secret: 'k1:x' })
    t.equal(await store.mfaFactors?.acceptStep(f?.id as string, 1, new Date(), true), true)
    const { rows } = await admin.query(`SELECT max(version)::int AS v FROM "${s}".gk_migrations`)
    t.equal(rows[0].v, POSTGRES_MIGRATIONS.length)
  })

  t.test('one TOTP step, one recovery code and one passkey counter over two pools: exactly one use each', async (t) => {
    const a = open()
    const b = open()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const f = await a.mfaFactors?.create({ userId: 'pools', kind: 'totp', secret: 'k1:x' }) as { id: string }
    await a.mfaFactors?.acceptStep(f.id, 1, new Date(), true)
    await a.recoveryCodes?.replace('pools', [sha('pool-code')])
    await a.webauthnCredentials?.create({ id: 'pool-cred', userId: 'pools', publicKey: 'pk', counter: 1, backupEligible: false, backedUp: false, name: 'k' })
    const pick = (i: number): GatekeeperStore => i % 2 === 0 ? a : b
    const steps = await Promise.all(Array.from({ length: 20 }, (_, i) => pick(i).mfaFactors?.acceptStep(f.id, 2, new Date())))
    const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => pick(i).recoveryCodes?.consume('pools', sha('pool-code'), new Date())))
    const counters = await Promise.all(Array.from({ length: 20 }, (_, i) => pick(i).webauthnCredentials?.updateCounter('pool-cred', 2, new Date(), false)))
    t.equal(steps.filter((r) => r === true).length, 1)
    t.equal(codes.filter((r) => r === true).length, 1)
    t.equal(counters.filter((r) => r === 'ok').length, 1)
  })

  t.test('two concurrent resets with one account token over two pools: exactly one wins', async (t) => {
    const a = open()
    const b = open()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    await a.accountTokens?.create({ hash: sha('two-pools-reset'), userId: 'pools', kind: 'password_reset', expiresAt: new Date(Date.now() + HOUR) })
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).accountTokens?.consume(sha('two-pools-reset'), 'password_reset', new Date())))
    t.equal(results.filter((r) => r != null).length, 1)
  })

  t.test('text Postgres cannot hold (a NUL character) is GK_INVALID_REQUEST, and a login with it is a 400, not a 500', async (t) => {
    const store = open()
    t.teardown(() => store.close())
    await store.init?.()
    t.equal(await store.users.findByLogin('ad\u0000min'), null, 'a name no store can hold finds nobody (the conformance suite checks every store)')
    await t.rejects(store.users.create({ username: 'nul\u0000', passwordHash: null }), { code: 'GK_INVALID_REQUEST' })
    await t.rejects(store.identities!.find('https://sso.example', 'a\u0000b'), { code: 'GK_INVALID_REQUEST' })
    await t.rejects(store.oauthClients!.findById('cid_\u0000'), { code: 'GK_INVALID_REQUEST' })
    const { jwt } = await import('../../lib/jwt/index.js')
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(gatekeeper, { store: open(), audit: { log: false } })
    await app.register(jwt, { secret: 'test-secret-test-secret-test-sec', issuer: 'i', audience: 'a' })
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'ad\u0000min', password: 'correct horse battery staple' } })
    t.equal(res.statusCode, 400, res.body)
    t.equal(res.json().code, 'GK_INVALID_REQUEST')
  })

  t.test('migrate: false checks the schema instead of changing it', async (t) => {
    const fresh = schemaFor('nomig')
    const unmigrated = open({ schema: fresh, migrate: false })
    t.teardown(() => unmigrated.close())
    await t.rejects(unmigrated.init?.() as Promise<void>, { code: 'GK_CONFIG', message: new RegExp(`version 0, this release needs ${POSTGRES_MIGRATIONS.length}: run .npx fastify-gatekeeper migrate --url <url> --schema gk_nomig`) })
    const migrated = open({ migrate: false })
    t.teardown(() => migrated.close())
    await t.resolves(migrated.init?.() as Promise<void>)
  })

  t.test('a schema from a newer release is refused', async (t) => {
    const s = schemaFor('future')
    const first = open({ schema: s })
    await first.init?.()
    await first.close()
    await admin.query(`INSERT INTO "${s}".gk_migrations (version, name) VALUES (999, 'future')`)
    const store = open({ schema: s })
    t.teardown(() => store.close())
    await t.rejects(store.init?.() as Promise<void>, { code: 'GK_CONFIG', message: /newer than this release knows/ })
  })

  t.test('50 consumers over two pools: exactly one ok', async (t) => {
    const a = open()
    const b = open()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const now = new Date()
    await a.refreshTokens.createFamily({ userId: 'pools', expiresAt: new Date(now.getTime() + HOUR) }, { hash: sha('two-pools'), expiresAt: new Date(now.getTime() + HOUR) })
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? a : b).refreshTokens.consume(sha('two-pools'), now, { hash: sha(`two-pools-${i}`), expiresAt: new Date(now.getTime() + HOUR) })))
    t.equal(results.filter((r) => r.status === 'ok').length, 1)
    t.equal(results.filter((r) => r.status === 'reused').length, 49)
  })

  t.test('your own pool is used and never ended', async (t) => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 })
    t.teardown(() => pool.end())
    const store = postgresStore({ pool, schema })
    await store.init?.()
    const u = await store.users.create({ username: `own-pool-${process.pid}`, passwordHash: null })
    await store.close()
    await store.close()
    t.equal((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".gk_users WHERE id = $1`, [u.id])).rows[0].n, 1)
    t.equal(pool.listenerCount('error'), 0, 'the store removed its error listener')
  })

  t.test('bad options are refused with GK_CONFIG and never echo the connection string', async (t) => {
    const url = 'postgres://app:s3cret-pw@db.internal:5432/app'
    const pool = new pg.Pool({ connectionString: POSTGRES_URL })
    t.teardown(() => pool.end())
    const rows: Array<[unknown, RegExp]> = [
      [undefined, /needs options/],
      [{}, /exactly one of pool/],
      [{ pool, connectionString: url }, /exactly one of pool/],
      [{ pool: {} }, /pool must be a pg.Pool/],
      [{ connectionString: ' ' }, /connectionString must be/],
      [{ connectionString: url, scheme: 'x' }, /unknown option 'scheme'/],
      [{ connectionString: url, schema: 'bad-name; DROP' }, /schema must be a plain identifier/],
      [{ connectionString: url, max: 0 }, /max must be/],
      [{ connectionString: url, migrate: 'yes' }, /migrate must be a boolean/],
      [{ connectionString: url, applicationName: 1 }, /applicationName must be a string/],
      [{ connectionString: url, statementTimeout: '10ms' }, /statementTimeout must be between/],
      [{ connectionString: url, connectionTimeout: 'never' }, /connectionTimeout/],
      [{ pool, statementTimeout: '1s' }, /with your own pool, set it on the pg.Pool/]
    ]
    for (const [opts, message] of rows) {
      const err = t.throws(() => postgresStore(opts as PostgresStoreOptions), { code: 'GK_CONFIG', message }, JSON.stringify(opts, (k, v) => k === 'pool' ? 'Pool' : v)) as Error
      t.notMatch(err.message, /s3cret/)
    }
  })

  t.test('faults', async (t) => {
    const target = new URL(POSTGRES_URL)
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    await proxy.start()
    t.teardown(() => proxy.stop())
    const withPassword = new URL(proxy.url(POSTGRES_URL))
    withPassword.password = 's3cret-pw'

    t.test('Postgres cut off: operations reject with GK_STORE_UNAVAILABLE, then recover by themselves', async (t) => {
      const store = open({ connectionString: proxy.url(POSTGRES_URL), connectionTimeout: '1s', statementTimeout: '1s' })
      t.teardown(() => store.close())
      await store.init?.()
      const u = await store.users.create({ username: `fault-${process.pid}`, passwordHash: null })
      await proxy.stop()
      for (let i = 0; i < 3; i++) {
        await t.rejects(store.users.findById(u.id), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 }, `attempt ${i + 1} while down`)
      }
      await t.rejects(store.refreshTokens.consume(sha('x'), new Date()), { code: 'GK_STORE_UNAVAILABLE' })
      await proxy.start()
      t.equal((await store.users.findById(u.id))?.id, u.id, 'works again once Postgres is back')
    })

    t.test('an unreachable Postgres at start-up fails init with GK_STORE_UNAVAILABLE and no password; a later init succeeds', async (t) => {
      const store = postgresStore({ connectionString: withPassword.toString(), schema, connectionTimeout: '1s' })
      t.teardown(() => store.close())
      await proxy.stop()
      const err = await store.init?.().catch((e: Error) => e) as Error & { cause?: Error }
      t.match(err, { code: 'GK_STORE_UNAVAILABLE' })
      t.notMatch(`${err.message} ${err.cause?.message ?? ''}`, /s3cret/)
      await proxy.start()
      // The proxy does not forward the password: trust auth ignores it.
      await t.resolves(store.init?.() as Promise<void>)
    })

    t.test('a server that accepts but never answers fails within connectionTimeout', async (t) => {
      proxy.blackhole = true
      t.teardown(() => { proxy.blackhole = false })
      const store = open({ connectionString: proxy.url(POSTGRES_URL), connectionTimeout: '300ms' })
      t.teardown(() => store.close())
      const started = Date.now()
      await t.rejects(store.init?.() as Promise<void>, { code: 'GK_STORE_UNAVAILABLE' })
      t.ok(Date.now() - started < 5000, 'no hang past the timeout')
    })

    t.test('a statement over statementTimeout rejects with GK_STORE_UNAVAILABLE', async (t) => {
      const store = open({ statementTimeout: '300ms' })
      t.teardown(() => store.close())
      await store.init?.()
      const locker = await admin.connect()
      await locker.query('BEGIN')
      await locker.query(`LOCK TABLE "${schema}".gk_api_keys IN ACCESS EXCLUSIVE MODE`)
      const started = Date.now()
      await t.rejects(store.apiKeys.findById('k'), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
      t.ok(Date.now() - started < 5000, 'no hang past the timeout')
      await locker.query('ROLLBACK')
      locker.release()
      t.equal(await store.apiKeys.findById('k'), null, 'the next statement runs normally')
    })

    t.test('backends terminated mid-query: the query rejects, the store reconnects', async (t) => {
      const appName = `gk-term-${process.pid}`
      const store = open({ applicationName: appName })
      t.teardown(() => store.close())
      await store.init?.()
      const locker = await admin.connect()
      await locker.query('BEGIN')
      await locker.query(`LOCK TABLE "${schema}".gk_users IN ACCESS EXCLUSIVE MODE`)
      // The rejection handler is attached now: the query fails as soon as its backend dies.
      const pending = t.rejects(store.users.findByLogin('someone'), { code: 'GK_STORE_UNAVAILABLE', statusCode: 503 })
      // Wait until the store's query is blocked on the lock, then kill its backend.
      for (let i = 0; i < 100; i++) {
        const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [appName])
        if (rows[0].n > 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const killed = await admin.query('SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) k', [appName])
      t.ok(killed.rows[0].n >= 1, 'terminated the store\'s connections')
      await pending
      await locker.query('ROLLBACK')
      locker.release()
      t.equal(await store.users.findByLogin('someone'), null, 'a fresh connection serves the next call')
    })

    t.test('through the core plugin, a request that needs the store gets a 503 body, not a 500', async (t) => {
      const store = open({ connectionString: proxy.url(POSTGRES_URL), connectionTimeout: '1s' })
      const app = Fastify()
      t.teardown(() => app.close())
      await app.register(gatekeeper, { store })
      app.get('/lookup', { config: { auth: false } }, async () => ({ user: await app.gatekeeper.store.users.findByLogin('x') }))
      t.equal((await app.inject('/lookup')).statusCode, 200)
      await proxy.stop()
      t.teardown(() => proxy.start())
      const res = await app.inject('/lookup')
      t.equal(res.statusCode, 503)
      t.match(res.json(), { statusCode: 503, code: 'GK_STORE_UNAVAILABLE' })
    })
  })
}
