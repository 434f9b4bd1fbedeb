import t from 'tap'
import type { GatekeeperStore } from '../../lib/stores/types.js'
import { hashToken } from '../../lib/refresh/token.js'
import { createUser, login, refreshApp, refreshWith, REFRESH_SECRET } from './helpers.js'

/** Parallel refreshes per run. */
export const PARALLEL = 50

/** Options of {@link refreshConcurrency}. */
export interface ConcurrencyOptions {
  /**
   * Another store over the same data (its own connections), for the second
   * app instance. Without it both instances share one store object.
   */
  peer?: (store: GatekeeperStore) => Promise<GatekeeperStore>
}

/**
 * The exactly-once suite of the refresh route, run against any store. Two app
 * instances share the data and split the requests between them, as two
 * instances behind a load balancer would. `makeStore` is called once per test.
 */
export function refreshConcurrency (name: string, makeStore: () => Promise<GatekeeperStore>, opts: ConcurrencyOptions = {}): void {
  async function stores (): Promise<[GatekeeperStore, GatekeeperStore]> {
    const store = await makeStore()
    return [store, opts.peer === undefined ? store : await opts.peer(store)]
  }

  t.test(`${name}: ${PARALLEL} parallel refreshes with one token give exactly one 200`, async (t) => {
    const [store, other] = await stores()
    const a = await refreshApp({ store })
    const b = await refreshApp({ store: other, clock: a.clock })
    t.teardown(async () => { await a.app.close(); await b.app.close() })
    const username = `alice-${process.pid}-${Date.now()}`
    await createUser(a.app, username)
    const { body } = await login(a.app, username)
    const anomalies: unknown[] = []
    a.app.gatekeeper.on('anomaly', (e) => anomalies.push(e))
    b.app.gatekeeper.on('anomaly', (e) => anomalies.push(e))

    const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => refreshWith(i % 2 === 0 ? a.app : b.app, body.refreshToken)))
    const ok = results.filter((r) => r.statusCode === 200)
    const refused = results.filter((r) => r.statusCode === 401)
    t.equal(ok.length, 1, 'exactly one refresh succeeds')
    t.equal(refused.length, PARALLEL - 1, 'every other one is refused')
    t.ok(refused.every((r) => r.json().code === 'GK_INVALID_GRANT'))
    // The losers presented a consumed token: to the server that is reuse, so the family is revoked.
    t.match(await store.refreshTokens.findFamily(body.sessionId), { revokeReason: 'reuse' })
    t.equal(anomalies.length, 1, 'one alarm for the attacked session')
    const successor = ok[0]?.json().refreshToken
    t.equal((await refreshWith(a.app, successor)).statusCode, 401, 'the winner\'s successor died with the family')
  })

  t.test(`${name}: inside the grace window ${PARALLEL} parallel refreshes all get the one successor`, async (t) => {
    const [store, other] = await stores()
    const refresh = { reuseGrace: '30s', secret: REFRESH_SECRET }
    const a = await refreshApp({ store, refresh })
    const b = await refreshApp({ store: other, clock: a.clock, refresh })
    t.teardown(async () => { await a.app.close(); await b.app.close() })
    const username = `bob-${process.pid}-${Date.now()}`
    await createUser(a.app, username)
    const { body } = await login(a.app, username)

    const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => refreshWith(i % 2 === 0 ? a.app : b.app, body.refreshToken)))
    t.same(results.map((r) => r.statusCode), Array(PARALLEL).fill(200))
    const successors = new Set(results.map((r) => r.json().refreshToken))
    t.equal(successors.size, 1, 'one successor, sent to every caller')
    const [successor] = [...successors] as [string]
    const parent = await store.refreshTokens.findByHash(hashToken(body.refreshToken))
    t.match(await store.refreshTokens.findByHash(hashToken(successor)), { parentId: parent?.id, consumedAt: null })
    t.equal((await refreshWith(b.app, successor)).statusCode, 200, 'and it works')
  })
}
