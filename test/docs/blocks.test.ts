// Every fenced block of README.md and docs/*.md (pages are found at run time)
// is part of the test suite. The convention the pages follow:
//
// - ```ts is a complete program, as a reader would save it to a file: imports
//   included, strict, NodeNext. All programs are type-checked in one compiler
//   run as a consumer's project sees the package (`fastify-gatekeeper/...`
//   resolves to the built `dist/` through `exports`; see CONSUMER_TSCONFIG in
//   consumer.ts), once with the project's TypeScript and once with the latest
//   TypeScript 7 (installed from the npm registry into a cache folder).
// - ```ts fragment extends the complete block before it on the same page: it is
//   appended to that program and checked (and run) with it.
// - ```ts norun is type-checked but not run (it needs a service that a test
//   cannot provide, e.g. a real identity provider or mail server).
// - Every other ```ts program is run with Node in an empty folder of its own,
//   with JWT_SECRET, DATABASE_URL (Postgres), REDIS_URL and the other variables
//   the pages read set (DOCS_ENV in run.ts). `listen()` is
//   moved to a free port on 127.0.0.1; once the program's top level is done,
//   each Fastify instance it made is made ready (so registration errors
//   surface) and closed: after the page's shell blocks ran when it listens,
//   else once it has nothing left to do (a node:test file finishes its tests).
// - ```sh / ```bash blocks are run, with bash -e, against the server of the
//   program before them (`localhost:3000` becomes the free port): the program
//   must listen. Blocks that must not run (installs, commands of this
//   repository) are ```sh norun.
// - Other languages (json, js for browsers, http, sql, html) and blocks without
//   a language are illustrations and are not run.
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { blocksOf, pages } from './blocks.js'
import { makeConsumer, projectTsc, typeCheck, typescript7, writePrograms, type Diagnostic } from './consumer.js'
import { programsOf, type Program } from './programs.js'
import { root, runProgram } from './run.js'

async function pool<T, R> (items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }))
  return results
}

/**
 * Pages whose blocks were written before the convention and still hold
 * fragments without their program: their failures are reported as TODO. A
 * page leaves this list when its blocks pass; new pages never enter it.
 */
const PENDING = new Set<string>([])

const format = (ds: Diagnostic[]): string => ds.map((d) => `${d.where}: ${d.message}`).join('\n')

t.test('the documentation\'s code blocks compile and run as written', { timeout: 600_000 }, async (t) => {
  if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
    t.fail('dist/ is missing: `npm run build` first (npm test does)')
    return
  }
  const programs: Program[] = []
  const errors: string[] = []
  for (const page of pages(root)) {
    const found = programsOf(blocksOf(root, page))
    programs.push(...found.programs)
    errors.push(...found.errors)
  }
  const pendingErrors = errors.filter((e) => PENDING.has(e.split(':')[0] ?? ''))
  t.same(errors.filter((e) => !pendingErrors.includes(e)), [], 'every block follows the convention')
  if (pendingErrors.length > 0) t.same(pendingErrors, [], 'every block of the pending pages follows the convention', { todo: true })
  t.ok(programs.length > 0, `${programs.length} programs found`)

  const dir = makeConsumer(root)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writePrograms(dir, programs)

  const [ts5, ts7] = await Promise.all([
    typeCheck(projectTsc(root), dir, programs, true, 'ts5'),
    typescript7().then(async (ts) => 'error' in ts ? ts : { ...ts, ...await typeCheck(ts.tsc, dir, programs, false, 'ts7') })
  ])
  if ('error' in ts7) {
    if (process.env.CI === 'true') t.fail(`TypeScript 7 could not be installed: ${ts7.error}`)
    else t.comment(`TypeScript 7 skipped (not installable here): ${ts7.error.split('\n')[0]}`)
  }

  const runs = await pool(programs.filter((p) => p.run), 2, async (p) => {
    const js = join(dir, 'out', p.name.replace(/\.ts$/, '.js'))
    return [p, existsSync(js) ? await runProgram(p, js) : null] as const
  })
  const runOf = new Map(runs)

  for (const p of programs) {
    const todo = PENDING.has(p.file) ? `${p.file} is not converted to complete programs yet` : false
    t.test(`${p.file}:${p.line}`, { todo }, async (t) => {
      t.equal(format(ts5.diagnostics.filter((d) => d.program === p)), '', 'type-checks with the project\'s TypeScript')
      if (!('error' in ts7)) t.equal(format(ts7.diagnostics.filter((d) => d.program === p)), '', `type-checks with TypeScript ${ts7.version}`)
      if (!p.run) return
      const run = runOf.get(p)
      if (run === undefined || run === null) {
        t.fail('was not compiled')
        return
      }
      t.equal(run.code, 0, 'runs to its end and closes', { output: run.output.slice(-4000) })
      if (p.shell.length > 0) t.ok(run.listened, 'listens, for the shell blocks after it')
      for (const s of run.shell) t.equal(s.code, 0, `${p.file}:${s.line} (shell) exits with 0`, { output: s.output.slice(-2000) })
    })
  }
})
