import t from 'tap'
import { Purger } from '../../lib/refresh/purge.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { hashToken } from '../../lib/refresh/token.js'

const silent = { warn () {} }

t.test('purge deletes what has expired at the injected time, and nothing else', async (t) => {
  const store = memoryStore()
  const now = { t: Date.UTC(2030, 0, 1) }
  const repo = store.refreshTokens
  await repo.createFamily({ userId: 'u', expiresAt: new Date(now.t + 10_000) }, { hash: hashToken('a'), expiresAt: new Date(now.t + 5_000) })
  await repo.createFamily({ userId: 'u', expiresAt: new Date(now.t + 100_000) }, { hash: hashToken('b'), expiresAt: new Date(now.t + 50_000) })
  const purger = new Purger(repo, () => now.t, silent)
  t.equal(await purger.purge(), 0)
  now.t += 10_000
  t.equal(await purger.purge(), 1)
  t.equal(await repo.findByHash(hashToken('a')), null)
  t.not(await repo.findByHash(hashToken('b')), null)
})

t.test('purges asked for while one runs share it', async (t) => {
  let calls = 0
  let release: (n: number) => void = () => {}
  const repo = { deleteExpired: () => { calls++; return new Promise<number>((resolve) => { release = resolve }) } }
  const purger = new Purger(repo as never, Date.now, silent)
  const a = purger.purge()
  const b = purger.purge()
  release(3)
  t.same(await Promise.all([a, b]), [3, 3])
  t.equal(calls, 1)
  const c = purger.purge()
  release(0)
  await c
  t.equal(calls, 2, 'the next purge runs again')
})

t.test('the timer purges, does not hold the process open, and logs failures', { timeout: 10_000 }, async (t) => {
  let calls = 0
  const warnings: unknown[] = []
  // Waits for the timer's second purge (the one after the failure) rather than a fixed time, which a busy
  // machine can stretch past a few intervals; without a second purge the test times out.
  let secondRun: () => void = () => {}
  const ranTwice = new Promise<void>((resolve) => { secondRun = resolve })
  const repo = { deleteExpired: async () => { calls++; if (calls === 2) secondRun(); if (calls === 1) throw new Error('down'); return 0 } }
  const purger = new Purger(repo as never, Date.now, { warn: (obj) => { warnings.push(obj) } })
  purger.start(5)
  t.ok(purger.scheduled)
  // The purge timer is unref'd (next test): a ref'd timer keeps the process alive while it is awaited.
  const keepAlive = setTimeout(() => {}, 9_000)
  await ranTwice
  clearTimeout(keepAlive)
  purger.stop()
  t.notOk(purger.scheduled)
  t.ok(calls >= 2, 'it keeps running after a failure')
  t.equal(warnings.length, 1)
  const after = calls
  // Ten intervals and more: a timer that still ran would purge again.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(calls, after, 'stop stops it')
})

t.test('the timer is unref\'d', async (t) => {
  const purger = new Purger(memoryStore().refreshTokens, Date.now, silent)
  const real = globalThis.setInterval
  let handle: NodeJS.Timeout | undefined
  globalThis.setInterval = ((fn: () => void, ms: number) => { handle = real(fn, ms); return handle }) as typeof setInterval
  t.teardown(() => { globalThis.setInterval = real; purger.stop() })
  purger.start(60_000)
  t.equal(handle?.hasRef(), false)
})
