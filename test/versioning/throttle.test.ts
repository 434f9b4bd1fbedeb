import t from 'tap'
import { Throttle } from '../../lib/versioning/throttle.js'

const HOUR = 3_600_000

t.test('a key fires once per interval', async (t) => {
  const th = new Throttle(HOUR, 100)
  t.equal(th.take('a', 0), true, 'first time')
  t.equal(th.take('a', HOUR - 1), false, 'within the hour')
  t.equal(th.take('b', HOUR - 1), true, 'another key is independent')
  t.equal(th.take('a', HOUR), true, 'an hour later')
  t.equal(th.take('a', HOUR + 1), false, 'the interval restarts at the last firing')
})

t.test('memory is bounded: the least recently fired key is forgotten', async (t) => {
  const th = new Throttle(HOUR, 3)
  for (const k of ['a', 'b', 'c']) th.take(k, 0)
  t.equal(th.take('a', 10), false)
  th.take('d', 20)
  t.equal(th.size, 3)
  t.equal(th.take('a', 30), true, 'a was the oldest entry and was dropped')
  t.equal(th.take('c', 40), false, 'c is still remembered')
  for (let i = 0; i < 1000; i++) th.take(`ip${i}`, 50)
  t.equal(th.size, 3)
})
