/**
 * Refresh-token sessions driven through faults, as a careful client drives
 * them: rotate, keep the successor; on a 503 retry the same token; when the
 * answer is lost (the instance died) retry the same token on another
 * instance. Everything is journaled, so that afterwards the database and the
 * answers can be checked against each other.
 */
import pg from 'pg'
import type { Test } from 'tap'
import { hashToken } from '../../lib/refresh/token.js'
import { checkInvariants } from '../security/crash.js'
import { call, sleep, type Answer, type Instance } from './cluster.js'

/** A 200 answer to a refresh: `presented` was exchanged for `next`. */
export interface Rotation { presented: string, next: string, node: string, family: string }

/** What the sessions saw. */
export interface Journal {
  rotations: Rotation[]
  /** Answers that were neither 200 nor what the fault allows. */
  unexpected: string[]
  /** 503 answers (`GK_STORE_UNAVAILABLE`), retried. */
  unavailable: number
  /** Refreshes that never reached an instance (connection refused: it was down), retried elsewhere. */
  refused: number
  /** Answers lost with their instance, by what the database says of the token presented. */
  lost: { committed: number, notCommitted: number }
  /** Retries of a lost answer whose rotation had committed: refused (the family revoked), or answered with the stored successor (grace). */
  retried: { refused: number, sameSuccessor: number, otherAnswer: string[] }
  /** 401s on a retry after a 503 (a rotation that committed although its answer was a 503). */
  refusedAfter503: number
}

export function newJournal (): Journal {
  return { rotations: [], unexpected: [], unavailable: 0, refused: 0, lost: { committed: 0, notCommitted: 0 }, retried: { refused: 0, sameSuccessor: 0, otherAnswer: [] }, refusedAfter503: 0 }
}

/** The store's tables in our own Postgres (the fixture uses the default schema). */
export const TOKENS = 'gatekeeper.gk_refresh_tokens'
export const FAMILIES = 'gatekeeper.gk_refresh_families'

/** One session: a family and the client's current token; `ended` once the family was revoked. */
export class Session {
  ended = false
  #turn = 0

  constructor (readonly family: string, public token: string, private readonly nodes: Instance[], private readonly journal: Journal, private readonly db: pg.Pool) {}

  /** Logs `username` in through `node`. */
  static async open (username: string, password: string, nodes: Instance[], journal: Journal, db: pg.Pool): Promise<Session> {
    for (let attempt = 0; ; attempt++) {
      const node = nodes[attempt % nodes.length] as Instance
      const login = await call(node.base, 'POST', '/api/login', { username, password })
      if (login.status === 200) return new Session(login.json.sessionId as string, login.json.refreshToken as string, nodes, journal, db)
      if (attempt > 50) throw new Error(`cannot log ${username} in: ${login.status} ${JSON.stringify(login.json)}`)
      await sleep(100)
    }
  }

  /** One rotation, retried through 503s and lost answers until it has an answer. */
  async rotate (): Promise<void> {
    if (this.ended) return
    const presented = this.token
    let after: 'first' | '503' | 'lost-committed' | 'lost' = 'first'
    for (;;) {
      const node = this.nodes[this.#turn++ % this.nodes.length] as Instance
      const res = await call(node.base, 'POST', '/api/token/refresh', { refreshToken: presented })
      if (res.status === 200) {
        const next = res.json.refreshToken as string
        if (after === 'lost-committed') {
          // The rotation had committed: a retry gets the successor stored then (grace), or is refused.
          const stored = await this.#successorOf(presented)
          if (stored === hashToken(next)) this.journal.retried.sameSuccessor++
          else this.journal.retried.otherAnswer.push(`200 with another successor than the one stored (${node.name})`)
        }
        this.journal.rotations.push({ presented, next, node: node.name, family: this.family })
        this.token = next
        return
      }
      if (res.status === 503 && res.json?.code === 'GK_STORE_UNAVAILABLE') {
        this.journal.unavailable++
        after = '503'
        await sleep(100)
        continue
      }
      if (res.status === 0 && res.error === 'ECONNREFUSED') {
        this.journal.refused++
        await sleep(20)
        continue
      }
      if (res.status === 0) {
        // The instance died with the answer. What the database says decides what a retry must get.
        await sleep(300)
        const committed = await this.#successorOf(presented) !== null
        if (committed) this.journal.lost.committed++
        else this.journal.lost.notCommitted++
        after = committed ? 'lost-committed' : 'lost'
        continue
      }
      if (res.status === 401 && after === 'lost-committed') {
        this.journal.retried.refused++
        this.ended = true
        return
      }
      if (res.status === 401 && after === '503') this.journal.refusedAfter503++
      this.journal.unexpected.push(`${node.name} refresh after ${after}: ${res.status} ${JSON.stringify(res.json)}`)
      this.ended = true
      return
    }
  }

  /** The hash of the successor the database holds for `token`, or `null` while it is unconsumed. */
  async #successorOf (token: string): Promise<string | null> {
    for (;;) {
      try {
        const { rows } = await this.db.query(`SELECT s.hash FROM ${TOKENS} t JOIN ${TOKENS} s ON s.id = t.replaced_by WHERE t.hash = $1`, [hashToken(token)])
        return (rows[0]?.hash as string | undefined) ?? null
      } catch {
        await sleep(100) // Postgres is down in this test: ask again
      }
    }
  }
}

/**
 * The invariants, checked in the database and against the answers: no
 * token was accepted twice, every 200's successor is stored as the presented token's
 * successor, every family has exactly one live token, and each surviving
 * session's current token is that one and is accepted.
 */
export async function checkSessions (t: Test, db: pg.Pool, journal: Journal, sessions: Session[], node: Instance): Promise<void> {
  const presented = new Set(journal.rotations.map((r) => r.presented))
  t.equal(journal.rotations.length - presented.size, 0, 'no token was accepted twice')

  const hashes = journal.rotations.map((r) => hashToken(r.next))
  const { rows } = await db.query(`SELECT s.hash AS next, p.hash AS presented FROM ${TOKENS} s JOIN ${TOKENS} p ON p.id = s.parent_id AND p.replaced_by = s.id WHERE s.hash = ANY($1)`, [hashes])
  const stored = new Map(rows.map((r) => [r.next as string, r.presented as string]))
  const missing = journal.rotations.filter((r) => stored.get(hashToken(r.next)) !== hashToken(r.presented))
  t.equal(missing.length, 0, `every one of the ${journal.rotations.length} rotations answered 200 is stored, successor of the token presented`)

  await checkInvariants(t, async (sql) => (await db.query(sql)).rows, TOKENS, FAMILIES)

  const alive = sessions.filter((s) => !s.ended)
  const { rows: live } = await db.query(`SELECT t.hash, t.family_id FROM ${TOKENS} t JOIN ${FAMILIES} f ON f.id = t.family_id WHERE t.consumed_at IS NULL AND f.revoked_at IS NULL`)
  const liveOf = new Map(live.map((r) => [r.family_id as string, r.hash as string]))
  t.same(alive.filter((s) => liveOf.get(s.family) !== hashToken(s.token)).map((s) => s.family), [], 'each surviving session holds its family\'s one live token')
  const final: Answer[] = []
  for (const s of alive) final.push(await call(node.base, 'POST', '/api/token/refresh', { refreshToken: s.token }))
  t.same(final.filter((a) => a.status !== 200).map((a) => `${a.status} ${JSON.stringify(a.json)}`), [], 'and it is accepted')
}
