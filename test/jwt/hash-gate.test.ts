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
