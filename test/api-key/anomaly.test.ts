import t from 'tap'
import { IpSpread } from '../../lib/api-key/anomaly.js'

t.test('a key seen from the threshold number of addresses in a window is reported once', async (t) => {
  const s = new IpSpread(3, 60_000)
  t.equal(s.observe('k', '10.0.0.1', 0), 0)
  t.equal(s.observe('k', '10.0.0.1', 1), 0, 'the same address again does not count')
  t.equal(s.observe('k', '10.0.0.2', 2), 0)
  t.equal(s.observe('k', '10.0.0.3', 3), 3)
  t.equal(s.observe('k', '10.0.0.4', 4), 0, 'reported once per window')
  t.equal(s.observe('k', '10.0.0.5', 60_000), 0, 'a new window starts over')
  t.equal(s.observe('k', '10.0.0.6', 60_001), 0)
  t.equal(s.observe('k', '10.0.0.7', 60_002), 3)
})

t.test('addresses spread over windows are not an anomaly', async (t) => {
  const s = new IpSpread(3, 1000)
  let reported = 0
  for (let i = 0; i < 100; i++) reported += s.observe('k', `10.0.0.${i}`, i * 600)
  t.equal(reported, 0)
})

t.test('at most maxKeys keys are tracked', async (t) => {
  const s = new IpSpread(3, 60_000, 50)
  for (let i = 0; i < 10_000; i++) s.observe(`k${i}`, '10.0.0.1', i)
  t.equal(s.size, 50)
})
