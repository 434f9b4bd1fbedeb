import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import { TouchQueue } from '../../lib/api-key/touch.js'

t.test('a key is written at most once a minute, after the request, not during it', async (t) => {
  const writes: Array<[string, number]> = []
  const q = new TouchQueue(async (id, at) => { writes.push([id, at.getTime()]) }, () => t.fail('no error'))
  q.used('k', 1000)
  q.used('k', 2000)
  q.used('k', 60_999)
  t.same(writes, [], 'nothing is written synchronously')
  t.equal(q.pending, 1)
  await tick()
  t.same(writes, [['k', 1000]])
  q.used('k', 61_000)
  await tick()
  t.same(writes, [['k', 1000], ['k', 61_000]])
})

t.test('a seeded lastUsedAt counts as a write', async (t) => {
  const writes: string[] = []
  const q = new TouchQueue(async (id) => { writes.push(id) }, () => {})
  q.seed('k', 10_000)
  q.used('k', 20_000)
  await tick()
  t.same(writes, [])
  q.seed('k', 0)
  q.used('k', 70_000)
  await tick()
  t.same(writes, ['k'], 'a seed does not override what the queue already knows')
})

t.test('failed writes are handed to onError and never thrown', async (t) => {
  const errs: string[] = []
  const q = new TouchQueue(async () => { throw new Error('down') }, (err, id) => { errs.push(`${id}:${(err as Error).message}`) })
  const sync = new TouchQueue(() => { throw new Error('sync') }, (err, id) => { errs.push(`${id}:${(err as Error).message}`) })
  q.used('a', 0)
  sync.used('b', 0)
  await q.drain()
  await sync.drain()
  t.same(errs.sort(), ['a:down', 'b:sync'])
})

t.test('memory stays bounded', async (t) => {
  const q = new TouchQueue(async () => {}, () => {}, { maxTracked: 100, maxPending: 10 })
  for (let i = 0; i < 1000; i++) q.used(`k${i}`, 0)
  t.equal(q.pending, 10)
  t.ok(q.tracked <= 100)
  await q.drain()
  t.equal(q.pending, 0)
})

t.test('drain writes what is queued and refuses new work', async (t) => {
  const writes: string[] = []
  const q = new TouchQueue(async (id) => { writes.push(id) }, () => {})
  q.used('a', 0)
  await q.drain()
  t.same(writes, ['a'])
  q.used('b', 0)
  await tick()
  t.same(writes, ['a'])
})
