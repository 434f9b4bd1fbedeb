import t from 'tap'
import { StuffingDetector } from '../../lib/protection/anomaly.js'

t.test('one address failing for many accounts is reported once per window', async (t) => {
  const d = new StuffingDetector(3, 60_000)
  t.equal(d.observe('1.2.3.4', 'a', 0), null)
  t.equal(d.observe('1.2.3.4', 'a', 1), null, 'the same account twice is still one account')
  t.equal(d.observe('1.2.3.4', 'b', 2), null)
  t.same(d.observe('1.2.3.4', 'c', 3), { type: 'credential_stuffing', ip: '1.2.3.4', accounts: 3, failures: 4, windowMs: 60_000 })
  t.equal(d.observe('1.2.3.4', 'd', 4), null, 'reported once')
  t.equal(d.observe('1.2.3.4', 'e', 59_999), null)
  t.equal(d.observe('1.2.3.4', 'a', 60_000), null, 'a new window starts counting again')
  d.observe('1.2.3.4', 'b', 60_001)
  t.match(d.observe('1.2.3.4', 'c', 60_002), { accounts: 3, failures: 3 })
})

t.test('many accounts spread over addresses are not stuffing from one address', async (t) => {
  const d = new StuffingDetector(3, 60_000)
  for (let i = 0; i < 10; i++) t.equal(d.observe(`10.0.0.${i}`, `user${i}`, i), null)
})

t.test('memory is bounded by the number of addresses', async (t) => {
  const d = new StuffingDetector(3, 60_000, 5)
  for (let i = 0; i < 20; i++) d.observe(`10.0.0.${i}`, 'x', i)
  t.equal(d.size, 5)
  d.observe('10.0.0.19', 'y', 30)
  t.equal(d.size, 5)
})
