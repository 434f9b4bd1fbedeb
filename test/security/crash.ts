import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { jwt } from '../../lib/jwt/index.js'
import { refresh } from '../../lib/refresh/index.js'
import { hashToken } from '../../lib/refresh/token.js'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { capturedLogger, logLines, remember } from './helpers.js'

const WORKER = fileURLToPath(new URL('./crash-worker.ts', import.meta.url))

/** What the parent learnt from the child's output before the kill. */
export interface Journal {
  /** Every token the child reported, per family, oldest first. */
  families: Map<string, string[]>
  lines: number
}

/**
 * Starts the worker, lets it rotate until it has reported `atLeast` tokens
 * (more if it is fast), then SIGKILLs it mid-storm.
 */
export async function stormAndKill (t: Test, args: string[], atLeast: number, journal: Journal): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let buffer = ''
  let stderr = ''
  let tokens = 0
  let killedAt = -1
  let logs = ''
  child.stderr.on('data', (d) => {
    // The worker logs (secureLogger) to stderr: its lines join the audit sweep; anything else is an error report.
    logs += String(d)
    let nl: number
    while ((nl = logs.indexOf('\n')) !== -1) {
      const line = logs.slice(0, nl)
      logs = logs.slice(nl + 1)
      if (line.startsWith('{"level"')) logLines.push(line)
      else stderr += `${line}\n`
    }
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const enough = new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => {
      buffer += String(d)
      let nl: number
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        journal.lines++
        const [kind, family, token] = line.split(' ')
        if (kind === 'T' && family !== undefined && token !== undefined) {
          remember(token)
          const list = journal.families.get(family) ?? []
          list.push(token)
          journal.families.set(family, list)
          if (++tokens >= atLeast) resolve()
        }
      }
    })
    child.on('exit', () => resolve())
  })
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000)
  await enough
  // A random extra moment, so the kill lands anywhere in a transaction, not right after a line.
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 40)))
  killedAt = tokens
  child.kill('SIGKILL')
  const { signal } = await exited
  clearTimeout(deadline)
  t.equal(signal, 'SIGKILL', `the worker was killed mid-storm after reporting ${killedAt} tokens${stderr === '' ? '' : ` (stderr: ${stderr.slice(0, 500)})`}`)
}

/** Runs SQL over the store's database; returns rows. */
export type Sql = (sql: string) => Promise<Array<Record<string, unknown>>>

/**
 * The invariants after a crash, checked in the database: every consumed token
 * has its successor (consume and insert are one transaction), every token's
 * parent points back at it, every family has exactly one unconsumed token,
 * and no family is half-revoked (revoked_at and revoke_reason set together).
 */
export async function checkInvariants (t: Test, sql: Sql, tokens: string, families: string): Promise<void> {
  const rows = async (name: string, query: string): Promise<void> => {
    const found = await sql(query)
    t.same(found, [], name)
  }
  await rows('no consumed token lacks its successor (rotation is one transaction)',
    `SELECT t.id FROM ${tokens} t LEFT JOIN ${tokens} s ON s.id = t.replaced_by
     WHERE t.consumed_at IS NOT NULL AND (t.replaced_by IS NULL OR s.id IS NULL OR s.parent_id <> t.id OR s.family_id <> t.family_id)`)
  await rows('no token has a parent that does not name it as successor (no half-rotation)',
    `SELECT s.id FROM ${tokens} s JOIN ${tokens} p ON p.id = s.parent_id WHERE p.replaced_by IS NULL OR p.replaced_by <> s.id`)
  await rows('every family has exactly one unconsumed token',
    `SELECT f.id, COUNT(t.id) AS live FROM ${families} f LEFT JOIN ${tokens} t ON t.family_id = f.id AND t.consumed_at IS NULL
     GROUP BY f.id HAVING COUNT(t.id) <> 1`)
  await rows('no family is half-revoked (revocation time and reason written together)',
    `SELECT id FROM ${families} WHERE (revoked_at IS NULL AND revoke_reason IS NOT NULL) OR (revoked_at IS NOT NULL AND revoke_reason IS NULL)`)
  await rows('no token belongs to a family that does not exist',
    `SELECT t.id FROM ${tokens} t LEFT JOIN ${families} f ON f.id = t.family_id WHERE f.id IS NULL`)
}

/** An app over the reopened store, configured like the worker's. */
export async function reopenedApp (store: GatekeeperStore): Promise<FastifyInstance> {
  const app = Fastify({ logger: capturedLogger() })
  await app.register(gatekeeper, { store, bruteForce: false })
  await app.register(jwt, { secret: 'crash-secret-crash-secret-crash-secret', issuer: 'crash', audience: 'crash' })
  await app.register(refresh, { transport: 'body' })
  await app.ready()
  return app
}

/**
 * Every token the worker reported: it is in the database (reported means
 * committed), and it is either consumed — refused — or its family's live
 * token — accepted exactly once — or in a revoked family — refused.
 */
export async function checkTokens (t: Test, app: FastifyInstance, journal: Journal): Promise<void> {
  const store = app.gatekeeper.store.refreshTokens
  const present = (token: string) => app.inject({ method: 'POST', url: '/api/token/refresh', payload: { refreshToken: token } })
  let lost = 0
  let once = 0
  let twice = 0
  let consumedAccepted = 0
  let revokedAccepted = 0
  let liveRefused = 0
  let unknownHeads = 0
  for (const [familyId, reported] of journal.families) {
    const family = await store.findFamily(familyId)
    const records = await Promise.all(reported.map((tok) => store.findByHash(hashToken(tok))))
    lost += records.filter((r) => r === null).length
    if (family === null) continue
    const live = reported.filter((_tok, i) => records[i] !== null && records[i]?.consumedAt === null)
    if (live.length === 0) unknownHeads++ // the successor was committed but the kill came before it was reported
    // The live token first: presenting a consumed one revokes the family (reuse detection).
    for (const tok of live) {
      const first = await present(tok)
      if (family.revokedAt === null) {
        if (first.statusCode === 200) { once++; remember(first.json().refreshToken) } else liveRefused++
        if ((await present(tok)).statusCode === 200) twice++
      } else if (first.statusCode === 200) revokedAccepted++
    }
    for (let i = 0; i < reported.length; i++) {
      if (records[i]?.consumedAt !== null && records[i] !== null && (await present(reported[i] as string)).statusCode === 200) consumedAccepted++
    }
  }
  t.comment(`${journal.families.size} families, ${once} live tokens accepted once, ${unknownHeads} families whose newest token was committed but not yet reported`)
  t.equal(lost, 0, 'every token reported before the kill is in the database (durable commits)')
  t.ok(once > 0, 'some sessions survived the crash and still work (the check is not vacuous)')
  t.equal(liveRefused, 0, 'every live token of an active family is accepted after the restart')
  t.equal(twice, 0, 'and only once')
  t.equal(consumedAccepted, 0, 'no consumed token is accepted')
  t.equal(revokedAccepted, 0, 'no token of a revoked family is accepted')
}
