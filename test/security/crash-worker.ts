/**
 * The process that gets SIGKILLed: a refresh-rotation storm over a real store.
 * Run as `node --import tsx test/security/crash-worker.ts sqlite <file>` or
 * `… postgres <url> <schema>`. It prints one line per committed change, written
 * synchronously (stdout is a pipe: synchronous on Linux), so every line the
 * parent reads happened before the kill:
 *   T <familyId> <token>   the family's newest token (a login or a rotation)
 *   X <familyId>           the family was revoked (reuse detected or logout)
 *   READY                  the storm has started
 */
import Fastify from 'fastify'
import { secureLogger } from '../../lib/core/logging.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { postgresStore } from '../../lib/stores/postgres.js'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'

const [kind, location, schema] = process.argv.slice(2)
const store: GatekeeperStore = kind === 'sqlite'
  ? sqliteStore({ filename: location as string })
  : postgresStore({ connectionString: location as string, schema: schema as string, max: 8 })

// Logs go to stderr, where the parent collects them for its audit sweep.
const app = Fastify({ logger: { ...secureLogger(), stream: process.stderr } })
await app.register(gatekeeper, { store, bruteForce: false })
await app.register(jwt, { secret: 'crash-secret-crash-secret-crash-secret', issuer: 'crash', audience: 'crash', routes: { prefix: '/api' } })
await app.register(refresh, { transport: 'body' })
await app.ready()

const out = (line: string): void => { process.stdout.write(`${line}\n`) }
const users: string[] = []
for (let i = 0; i < 6; i++) {
  const name = `crash-${i}`
  const found = await store.users.findByLogin(name)
  users.push(found?.id ?? (await store.users.create({ username: name, passwordHash: null, roles: ['user'] })).id)
}

async function open (userId: string): Promise<{ family: string, token: string, history: string[] }> {
  const s = await app.gatekeeper.refresh!.start(userId)
  out(`T ${s.sessionId} ${s.refreshToken}`)
  return { family: s.sessionId, token: s.refreshToken, history: [] }
}
const rotate = (token: string) => app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: token } })

/** One session's life: mostly rotations; sometimes a replay, a race with itself, or a logout, then a new login. */
async function storm (userId: string): Promise<never> {
  let s = await open(userId)
  for (;;) {
    // Sessions idle now and then, as real clients do: at the kill some have reported their newest token, some are mid-rotation.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 25)))
    const r = Math.random()
    if (r < 0.03 && s.history.length > 0) {
      // A stolen, already rotated token comes back: the family is revoked.
      await rotate(s.history[Math.floor(Math.random() * s.history.length)] as string)
      out(`X ${s.family}`)
      s = await open(userId)
    } else if (r < 0.05) {
      // Two tabs refresh with the same token at once: one wins, the other is reuse and revokes the family.
      const both = await Promise.all([rotate(s.token), rotate(s.token)])
      for (const res of both) if (res.statusCode === 200) out(`T ${s.family} ${res.json().refreshToken}`)
      out(`X ${s.family}`)
      s = await open(userId)
    } else if (r < 0.06) {
      await app.inject({ method: 'POST', url: '/api/logout', payload: { refreshToken: s.token } })
      out(`X ${s.family}`)
      s = await open(userId)
    } else {
      const res = await rotate(s.token)
      if (res.statusCode !== 200) throw new Error(`a rotation failed: ${res.statusCode} ${res.body}`)
      const next = res.json().refreshToken as string
      out(`T ${s.family} ${next}`)
      s.history.push(s.token)
      s.token = next
    }
  }
}

out('READY')
// Two sessions per user, all rotating at once, until the parent kills the process.
await Promise.all([...users, ...users].map((u) => storm(u)))
