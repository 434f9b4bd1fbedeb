import t from 'tap'
import { HashGate } from '../../lib/jwt/hash-gate.js'

t.test('the gate runs at most `limit` tasks at once, in arrival order', async (t) => {
  const gate = new HashGate(2)
  let active = 0
  let peak = 0
  const order: number[] = []
  const task = (i: number) => gate.run(async () => {
    active++
    peak = Math.max(peak, active)
    await new Promise((resolve) => setTimeout(resolve, 5))
    order.push(i)
    active--
    return i
  })
  const results = await Promise.all([0, 1, 2, 3, 4, 5].map(task))
  t.same(results, [0, 1, 2, 3, 4, 5])
  t.equal(peak, 2)
  t.same(order.slice(0, 2).sort(), [0, 1])
})

t.test('a failing task releases its slot', async (t) => {
  const gate = new HashGate(1)
  await t.rejects(gate.run(async () => { throw new Error('argon2 failed') }), /argon2 failed/)
  t.equal(await gate.run(async () => 'next'), 'next')
})

t.test('the default limit leaves a core for the event loop', async (t) => {
  t.ok(new HashGate().limit >= 1)
})

t.test('a free slot goes to the queue with the fewest tasks running: one burst does not hold up another caller', async (t) => {
  const gate = new HashGate(1)
  const order: string[] = []
  const release: Array<() => void> = []
  const task = (label: string, queue: string) => gate.run(async () => {
    order.push(label)
    await new Promise<void>((resolve) => release.push(resolve))
  }, queue)
  const all = [
    ...Array.from({ length: 6 }, (_, i) => task(`a${i}`, 'attacker')),
    task('u0', 'user'),
    task('v0', 'visitor'),
    task('u1', 'user')
  ]
  for (let i = 0; i < 9; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    release.shift()?.()
  }
  await Promise.all(all)
  t.same(order, ['a0', 'u0', 'v0', 'a1', 'u1', 'a2', 'a3', 'a4', 'a5'], 'queues take turns; first come first served within a queue')
})

t.test('the gate forgets queues with nothing running or waiting', async (t) => {
  const gate = new HashGate(2)
  await Promise.all(Array.from({ length: 50 }, (_, i) => gate.run(async () => i, `q${i}`)))
  t.equal((gate as unknown as { [k: string]: unknown }).limit, 2)
  t.equal(await gate.run(async () => 'still works', 'q1'), 'still works')
})
