import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import { POSTGRES_URL, requirePostgres, uniqueSchema } from './postgres-env.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'gk-cli-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

interface Run { code: number, stdout: string, stderr: string }

function cli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const { DATABASE_URL: _ignored, ...base } = process.env
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'lib/bin/cli.ts', ...args], { cwd: root, env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr })
    })
  })
}

t.test('--help prints the usage and exits 0', async (t) => {
  const run = await cli(['--help'])
  t.equal(run.code, 0)
  t.match(run.stdout, /fastify-gatekeeper migrate --url <postgres-url> \[--schema <name>\]/)
  t.match(run.stdout, /--sqlite <file>/)
})

t.test('--version and -v print the package version and exit 0', async (t) => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  for (const flag of ['--version', '-v']) {
    const run = await cli([flag])
    t.equal(run.code, 0, flag)
    t.equal(run.stdout, `fastify-gatekeeper ${version}\n`)
    t.equal(run.stderr, '')
  }
})

t.test('a wrong flag is named in the command\'s words, never with parseArgs\' internals', async (t) => {
  const rows: Array<[string[], string]> = [
    [['--versoin'], "Unknown option '--versoin'."],
    [['migrate', '-x'], "Unknown option '-x'."],
    [['migrate', '--url'], '--url needs a value.'],
    [['--help=yes'], '--help takes no value.']
  ]
  for (const [args, first] of rows) {
    const run = await cli(args)
    t.equal(run.code, 2, args.join(' '))
    t.equal(run.stderr.split('\n')[0], first)
    t.notMatch(run.stderr, /positional|ERR_PARSE_ARGS|'--'/)
    t.match(run.stderr, /Usage:/)
  }
})

t.test('wrong usage exits 2 with a reason and the usage', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [[], /No command given/],
    [['upgrade'], /Unknown command 'upgrade'/],
    [['migrate'], /exactly one of --url/],
    [['migrate', '--url', 'postgres://x/y', '--sqlite', 'a.db'], /exactly one of --url/],
    [['migrate', '--sqlite', 'a.db', '--schema', 's'], /--schema applies to Postgres only/],
    [['migrate', '--url', 'postgres://x/y', '--schema', 'a-b'], /--schema must be a plain identifier/],
    [['migrate', '--bogus'], /Unknown option '--bogus'/]
  ]
  for (const [args, reason] of rows) {
    const run = await cli(args)
    t.equal(run.code, 2, args.join(' ') || '(no arguments)')
    t.match(run.stderr, reason)
  }
})

t.test('migrate --sqlite applies the schema once, then has nothing to do', async (t) => {
  const filename = join(dir, 'auth.db')
  const first = await cli(['migrate', '--sqlite', filename])
  t.equal(first.code, 0)
  t.match(first.stdout, /applied 5 migration\(s\), now at schema version 5\.\n {2}v1 initial schema\n {2}v2 oauth clients and identities\n {2}v3 user emails and account tokens\n {2}v4 second factors, passkeys and challenges\n {2}v5 DPoP-bound refresh families/)
  const second = await cli(['migrate', '--sqlite', filename])
  t.equal(second.code, 0)
  t.match(second.stdout, /is up to date \(schema version 5\)/)
  const store = sqliteStore({ filename })
  t.teardown(() => store.close())
  t.ok(await store.users.create({ username: 'after-cli', passwordHash: null }), 'the store opens the migrated file')
})

t.test('migrate --sqlite on an unusable path exits 1 naming the file', async (t) => {
  const filename = join(dir, 'missing', 'auth.db')
  const run = await cli(['migrate', '--sqlite', filename])
  t.equal(run.code, 1)
  t.match(run.stderr, 'Migration failed')
  t.match(run.stderr, filename)
})

t.test('migrate against Postgres', async (t) => {
  if (!await requirePostgres(t)) return
  const schema = uniqueSchema('cli')
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
  })

  t.test('--url and --schema apply the migrations, a second run has nothing to do', async (t) => {
    const first = await cli(['migrate', '--url', POSTGRES_URL, '--schema', schema])
    t.equal(first.code, 0, first.stderr)
    t.match(first.stdout, new RegExp(`postgres schema "${schema}" on [^ ]+: applied 5 migration\\(s\\)`))
    const second = await cli(['migrate', '--schema', schema], { DATABASE_URL: POSTGRES_URL })
    t.equal(second.code, 0, second.stderr)
    t.match(second.stdout, /is up to date \(schema version 5\)/, '$DATABASE_URL stands in for --url')
    const { rows } = await admin.query(`SELECT version FROM "${schema}".gk_migrations ORDER BY version`)
    t.same(rows, [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }])
  })

  t.test('an unreachable server exits 1 without printing the password', async (t) => {
    const run = await cli(['migrate', '--url', 'postgres://app:s3cret-pw@127.0.0.1:1/app'])
    t.equal(run.code, 1)
    t.match(run.stderr, /Migration failed: cannot reach 127\.0\.0\.1:1\/app/)
    t.notMatch(run.stdout + run.stderr, /s3cret/)
  })
})
