// docs/getting-started.md followed as written, from an empty folder, with the
// package as the registry would serve it (`npm pack` of this built copy):
// the install block (with the tarball in place of the package name), the
// tsconfig.json block, server.ts made of the page's first program and its
// fragments, app.test.ts of the second; `npx tsc` with the TypeScript the
// reader installs; a start without JWT_SECRET; a start, the page's curl
// commands, a second start on the same database and the same commands; the
// test file. Two departures, both outside the reader's view: installs come
// from the npm cache when it has the package and run without install scripts
// (the native addons of better-sqlite3 and argon2 are copied from this
// repository's install instead of compiled again), and the server listens on a free port instead of 3000.
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { blocksOf } from './blocks.js'
import { programsOf } from './programs.js'
import { bare, readerEnv, root, runProgram } from './run.js'

const PAGE = 'docs/getting-started.md'

function sh (script: string, cwd: string, env: NodeJS.ProcessEnv = readerEnv(), timeout = 240_000): Promise<{ code: number, output: string }> {
  return new Promise((resolve) => {
    execFile(...bare('bash', ['-e', '-o', 'pipefail', '-c', script]), { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, output: stdout + stderr })
    })
  })
}

t.test('getting started works as written from an empty folder with the packed package', { timeout: 600_000 }, async (t) => {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    t.fail('dist/ is missing: `npm run build` first (npm test does)')
    return
  }
  const blocks = blocksOf(root, PAGE)
  const { programs, errors } = programsOf(blocks)
  t.same(errors, [])
  const [server, testFile] = programs
  const install = blocks.find((b) => b.lang === 'sh' && /npm install/.test(b.code))
  const tsconfig = blocks.find((b) => b.lang === 'json')
  if (server === undefined || testFile === undefined || install === undefined || tsconfig === undefined) {
    t.fail(`${PAGE} should hold an install block, a tsconfig.json block, the server program and a test program`)
    return
  }

  const work = mkdtempSync(join(tmpdir(), 'gk-getting-started-'))
  if (process.env.GK_DOCS_KEEP === undefined) t.teardown(() => rmSync(work, { recursive: true, force: true }))
  else t.comment(`kept in ${work}`)
  const packDir = join(work, 'pack')
  const app = join(work, 'app')
  mkdirSync(packDir)
  mkdirSync(app)

  const pack = await sh(`npm pack --ignore-scripts --silent --pack-destination ${JSON.stringify(packDir)}`, root)
  t.equal(pack.code, 0, 'npm pack', { output: pack.output })
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'))
  if (tarball === undefined) return
  const script = install.code
    .replace(/\bfastify-gatekeeper\b/, join(packDir, tarball))
    .replace(/npm install /g, 'npm install --ignore-scripts --prefer-offline --no-audit --no-fund ')
  const installed = await sh(script, app)
  t.equal(installed.code, 0, 'the install commands', { output: installed.output.slice(-3000) })
  if (installed.code !== 0) return
  // The native addons, as their install scripts would have built them (same versions, same Node).
  for (const [pkg, file] of [['better-sqlite3', 'better_sqlite3.node'], ['argon2', 'argon2.node']] as const) {
    const addon = join('node_modules', pkg, 'build', 'Release')
    mkdirSync(join(app, addon), { recursive: true })
    copyFileSync(join(root, addon, file), join(app, addon, file))
  }

  writeFileSync(join(app, 'tsconfig.json'), tsconfig.code)
  writeFileSync(join(app, 'server.ts'), server.code)
  writeFileSync(join(app, 'app.test.ts'), testFile.code)

  const tsc = await sh('npx tsc', app)
  t.equal(tsc.code, 0, '`npx tsc` accepts server.ts and app.test.ts', { output: tsc.output })

  const noSecret = await runProgram({ shell: [] }, 'server.ts', { cwd: app, nodeArgs: ['--import', 'tsx'], env: { JWT_SECRET: undefined } })
  t.not(noSecret.code, 0, 'without JWT_SECRET the server does not start')
  t.match(noSecret.output, /GK_CONFIG/)
  t.match(noSecret.output, /secret is undefined/, 'and says the secret is undefined')

  for (const run of ['first', 'second']) {
    const started = await runProgram(server, 'server.ts', { cwd: app, nodeArgs: ['--import', 'tsx'], timeoutMs: 90_000 })
    t.equal(started.code, 0, `${run} start: runs and stops cleanly`, { output: started.output.slice(-3000) })
    t.ok(started.listened, `${run} start: listens`)
    const session = started.shell[0]
    t.equal(session?.code, 0, `${run} start: the page's curl commands succeed`, { output: session?.output })
    const login = JSON.parse(readFileSync(join(app, 'login.json'), 'utf8')) as { accessToken?: string, refreshToken?: string }
    t.type(login.accessToken, 'string', `${run} start: ada logs in`)
    t.type(login.refreshToken, 'string')
    const key = JSON.parse(readFileSync(join(app, 'key.json'), 'utf8')) as { key?: string }
    t.match(key.key, /^acme_/, `${run} start: she creates an API key`)
    t.match(session?.output ?? '', /"subject":"[^"]+","roles":\["user"\]/, `${run} start: /me answers her token and her key`)
    t.match(session?.output ?? '', /"title":"Hello again"/, `${run} start: she updates her own post`)
    t.notMatch(started.output, /GK_CONFLICT/)
  }
  t.ok(existsSync(join(app, 'data', 'auth.db')), 'the database is in data/')

  const tests = await sh('npx tsx --test app.test.ts', app)
  t.equal(tests.code, 0, 'the test file passes', { output: tests.output.slice(-3000) })
})
