import t from 'tap'
import { clientAddress } from '../../lib/protection/ip.js'

t.test('client addresses: IPv4 as is, IPv6 collapsed to its /64', async (t) => {
  const rows: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['::ffff:198.51.100.9', '198.51.100.9'],
    ['::ffff:c633:6409', '198.51.100.9'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['[2001:db8:1:2::9]', '2001:db8:1:2::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    ['unix:/tmp/sock', 'unix:/tmp/sock'],
    ['', '']
  ]
  for (const [input, expected] of rows) t.equal(clientAddress(input), expected, input)
})

t.test('two addresses of one /64 share a key; neighbouring /64s do not', async (t) => {
  t.equal(clientAddress('2001:db8:a:b::1'), clientAddress('2001:db8:a:b:dead:beef:0:1'))
  t.not(clientAddress('2001:db8:a:b::1'), clientAddress('2001:db8:a:c::1'))
})
