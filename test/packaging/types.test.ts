import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packedConsumer, root } from './packed.js'

// The published .d.ts files, type-checked as a consumer sees them: strict,
// skipLibCheck false, without @types/better-sqlite3 or @types/pg, on the
// TypeScript the project pins and on TypeScript 7 (installed once per machine
// into a cache folder outside the project, as `npm install typescript` gives today).
const consumer = packedConsumer()
t.teardown(consumer.remove)

const FIXTURE = `import Fastify from 'fastify'
import gatekeeperDefault, { gatekeeper, errors, type AuthContext } from 'fastify-gatekeeper'
import jwtDefault, { jwt } from 'fastify-gatekeeper/jwt'
import refresh from 'fastify-gatekeeper/refresh'
import rbac from 'fastify-gatekeeper/rbac'
import apiKey from 'fastify-gatekeeper/api-key'
import versioning from 'fastify-gatekeeper/versioning'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { sqliteStore } from 'fastify-gatekeeper/stores/sqlite'
import { postgresStore } from 'fastify-gatekeeper/stores/postgres'
import { createTestTokens } from 'fastify-gatekeeper/testing'

const app = Fastify()
await app.register(gatekeeperDefault, { store: process.env.DB === 'sqlite' ? sqliteStore({ filename: 'auth.db' }) : process.env.DB === 'pg' ? postgresStore({ connectionString: 'postgres://db/app' }) : memoryStore() })
await app.register(jwtDefault, { secret: 'a'.repeat(32), issuer: 'https://api.example', audience: 'api', accessTokenTtl: '15 minutes' })
await app.register(refresh, { ttl: '30d' })
await app.register(apiKey, { prefix: 'gk' })
await app.register(rbac, { roles: { user: { permissions: ['posts:read'] } } })
await app.register(versioning, { prefix: '/api', versions: { v1: {} } })
app.get('/me', { config: { auth: { permissions: ['posts:read'] } } }, async (request) => {
  const auth: AuthContext | null = request.auth
  return { subject: auth?.subject ?? null, can: request.can('posts:read') }
})
const same: boolean = gatekeeper === gatekeeperDefault && jwt === jwtDefault
const code: string = new errors.GK_CONFIG('x').code
void createTestTokens
void same
void code

// @ts-expect-error a store is required
await app.register(gatekeeper, {})
// @ts-expect-error request.auth is null for an anonymous caller
app.get('/x', { config: { auth: { optional: true } } }, async (request) => request.auth.subject)
// @ts-expect-error the pool must be a pg.Pool-like object
postgresStore({ pool: 'postgres://db/app' })
`

// Through a shell: the test runner instruments the Node processes it sees spawned, and TypeScript 7 cannot load under that.
function plainNode (args: string[], cwd: string): string {
  return execFileSync('/bin/sh', ['-c', 'exec "$0" "$@"', process.execPath, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } })
}

function check (t: { equal: (a: unknown, b: unknown, m: string) => void }, tsc: string[], label: string): void {
  for (const resolution of ['NodeNext', 'Bundler'] as const) {
    const dir = join(consumer.dir, `${label}-${resolution}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
    writeFileSync(join(dir, 'consumer.ts'), FIXTURE)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: resolution === 'NodeNext' ? 'NodeNext' : 'ESNext',
        moduleResolution: resolution,
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
        lib: ['ES2023']
      },
      files: ['consumer.ts']
    }))
    let output = ''
    try {
      plainNode([...tsc.slice(1), '-p', dir], dir)
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err)
    }
    t.equal(output, '', `${label}, ${resolution} resolution: no type error, every @ts-expect-error used`)
  }
}

t.test('TypeScript 5.9 (the pinned version)', async (t) => {
  check(t, [process.execPath, join(root, 'node_modules/typescript/lib/tsc.js')], 'ts5')
})

t.test('TypeScript 7', async (t) => {
  const cache = join(tmpdir(), 'fastify-gatekeeper-typescript-7')
  const tsc = join(cache, 'node_modules/typescript/lib/tsc.js')
  if (!existsSync(tsc)) execFileSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', 'typescript@7'], { stdio: 'ignore' })
  const version = plainNode([tsc, '--version'], cache)
  t.match(version, /^Version 7\./)
  check(t, [process.execPath, tsc], 'ts7')
})
