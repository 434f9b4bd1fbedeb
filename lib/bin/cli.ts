#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fieldOf } from '../core/json.js'

// Exit codes of the command line.
const EXIT = { ok: 0, failed: 1, usage: 2 } as const

const USAGE = `Usage:
  fastify-gatekeeper migrate --url <postgres-url> [--schema <name>]
  fastify-gatekeeper migrate --sqlite <file>
  fastify-gatekeeper --help
  fastify-gatekeeper --version

Applies the pending schema migrations of the gatekeeper store and prints what
it applied. Safe to run again (nothing to do) and from several machines at once.

Options:
  --url <url>       Postgres connection string. Defaults to $DATABASE_URL, which
                    keeps the password out of the process list.
  --schema <name>   Postgres schema holding the tables (default: gatekeeper).
  --sqlite <file>   SQLite database file (created when missing).
  -h, --help        Show this help.
  -v, --version     Print the version of fastify-gatekeeper.

Exit codes: 0 done (or nothing to do), 1 migration failed, 2 wrong usage.
`

interface Output { write: (text: string) => unknown }

type Applied = Array<{ version: number, name: string }>

function report (out: Output, target: string, applied: Applied, version: number): void {
  if (applied.length === 0) {
    out.write(`${target} is up to date (schema version ${version}).\n`)
    return
  }
  out.write(`${target}: applied ${applied.length} migration(s), now at schema version ${version}.\n`)
  for (const m of applied) out.write(`  v${m.version} ${m.name}\n`)
}

/** Where a Postgres URL points, without user or password. */
function describe (url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`
  } catch {
    return 'the given database'
  }
}

async function migratePostgresUrl (url: string, schema: string, out: Output): Promise<void> {
  const { loadDriver } = await import('../stores/driver.js')
  const pg = loadDriver<typeof import('pg')>('pg')
  const { POSTGRES_MIGRATIONS, migratePostgres } = await import('../stores/postgres/migrations.js')
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000, application_name: 'fastify-gatekeeper migrate' })
  pool.on('error', () => {})
  try {
    const applied = await migratePostgres(pool, `"${schema}"`, 120_000)
    report(out, `postgres schema "${schema}" on ${describe(url)}`, applied, POSTGRES_MIGRATIONS.at(-1)?.version ?? 0)
  } finally {
    await pool.end()
  }
}

async function migrateSqliteFile (filename: string, out: Output): Promise<void> {
  const { openSqlite } = await import('../stores/sqlite/open.js')
  const { SQLITE_MIGRATIONS } = await import('../stores/sqlite/migrations.js')
  const { db, applied } = openSqlite({ filename, busyTimeout: 30_000, synchronous: 'FULL' })
  db.close()
  report(out, `sqlite file ${filename}`, applied, SQLITE_MIGRATIONS.at(-1)?.version ?? 0)
}

function failure (err: unknown, target: string): string {
  const message = fieldOf(err, 'message')
  const causeMessage = fieldOf(fieldOf(err, 'cause'), 'message')
  if (fieldOf(err, 'code') === 'GK_STORE_UNAVAILABLE') return `cannot reach ${target} (${typeof causeMessage === 'string' ? causeMessage : 'no answer'})`
  const cause = typeof causeMessage === 'string' && causeMessage !== '' ? ` (${causeMessage})` : ''
  return `${typeof message === 'string' ? message : String(err)}${cause}`
}

/** The package's version, from the package.json shipped beside dist/ (and beside lib/ in the repository). */
function version (): string {
  return String(fieldOf(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')), 'version'))
}

/** parseArgs' own messages name Node internals and suggest '--' for positionals; say it in the CLI's words. */
function usageError (e: unknown): string {
  const code = fieldOf(e, 'code')
  const message = String(fieldOf(e, 'message'))
  const option = /'(-[^']*)'/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) return `Unknown option '${option}'.`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    const name = /--[a-z]+/.exec(option)?.[0] ?? option
    return /does not take an argument/.test(message) ? `${name} takes no value.` : `${name} needs a value.`
  }
  return 'Wrong usage.'
}

// Returns the exit code. Never prints a password: Postgres targets are shown as host, port and database.
async function main (argv: string[], out: Output = process.stdout, err: Output = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { url: { type: 'string' }, schema: { type: 'string' }, sqlite: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } }
    })
  } catch (e) {
    err.write(`${usageError(e)}\n\n${USAGE}`)
    return EXIT.usage
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    out.write(USAGE)
    return EXIT.ok
  }
  if (values.version === true) {
    out.write(`fastify-gatekeeper ${version()}\n`)
    return EXIT.ok
  }
  if (positionals.length !== 1 || positionals[0] !== 'migrate') {
    err.write(`${positionals.length === 0 ? 'No command given.' : `Unknown command '${positionals.join(' ')}'.`}\n\n${USAGE}`)
    return EXIT.usage
  }
  const url = values.url ?? (values.sqlite === undefined ? env.DATABASE_URL : undefined)
  if ((url === undefined) === (values.sqlite === undefined)) {
    err.write(`Give exactly one of --url (or $DATABASE_URL) and --sqlite.\n\n${USAGE}`)
    return EXIT.usage
  }
  const schema = values.schema ?? 'gatekeeper'
  if (values.sqlite !== undefined && values.schema !== undefined) {
    err.write(`--schema applies to Postgres only.\n\n${USAGE}`)
    return EXIT.usage
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    err.write('--schema must be a plain identifier (letters, digits, underscores; at most 63 characters).\n')
    return EXIT.usage
  }
  try {
    if (url !== undefined) await migratePostgresUrl(url, schema, out)
    else if (values.sqlite !== undefined) await migrateSqliteFile(values.sqlite, out)
    return EXIT.ok
  } catch (e) {
    err.write(`Migration failed: ${failure(e, url === undefined ? `sqlite file ${values.sqlite}` : describe(url))}\n`)
    return EXIT.failed
  }
}

process.exitCode = await main(process.argv.slice(2))
