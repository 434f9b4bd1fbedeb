import Fastify from 'fastify'
import t from 'tap'
import { errors } from '../../lib/core/errors.js'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { parseRedis } from '../../lib/redis/options.js'
import { memoryStore } from '../../lib/stores/memory.js'

/** Enough of an ioredis client to pass validation; never connected. */
const fake = {
  status: 'wait',
  duplicate () { return fake },
  async evalsha () {},
  async eval () {},
  async subscribe () {},
  defineCommand () {},
  on () {},
  removeListener () {},
  disconnect () {}
}

t.test('the option is a client or { client, prefix, failOpen, stallTimeout }, with defaults', async (t) => {
  t.equal(parseRedis(undefined), null)
  t.equal(parseRedis(false), null)
  t.same(parseRedis(fake), { client: fake, prefix: 'gk:', failOpen: true, stallMs: 200 })
  t.same(parseRedis({ client: fake }), { client: fake, prefix: 'gk:', failOpen: true, stallMs: 200 })
  t.same(parseRedis({ client: fake, prefix: 'app1:gk:', failOpen: false, stallTimeout: '50ms' }), { client: fake, prefix: 'app1:gk:', failOpen: false, stallMs: 50 })
  t.same(parseRedis({ client: fake, stallTimeout: 1000 }), { client: fake, prefix: 'gk:', failOpen: true, stallMs: 1000 })
  t.ok(Object.isFrozen(parseRedis(fake)))
})

const BAD: Array<[string, unknown, RegExp]> = [
  ['a URL string', 'redis://127.0.0.1:6379', /ioredis client/],
  ['an array', [fake], /ioredis client/],
  ['options without a client', { prefix: 'x:' }, /ioredis client/],
  ['a client missing methods', { client: { status: 'ready', on () {} } }, /ioredis client/],
  ['an unknown key', { client: fake, url: 'redis://' }, /unknown option redis\.url/],
  ['an empty prefix', { client: fake, prefix: '' }, /redis\.prefix/],
  ['a prefix with a space', { client: fake, prefix: 'my app:' }, /redis\.prefix/],
  ['a very long prefix', { client: fake, prefix: 'x'.repeat(65) }, /redis\.prefix/],
  ['failOpen as a string', { client: fake, failOpen: 'yes' }, /redis\.failOpen must be a boolean/],
  ['a stallTimeout under 10 ms', { client: fake, stallTimeout: '5ms' }, /redis\.stallTimeout must be between 10ms and 10s/],
  ['a stallTimeout over 10 s', { client: fake, stallTimeout: '1m' }, /redis\.stallTimeout must be between/],
  ['a stallTimeout that is no duration', { client: fake, stallTimeout: 'soon' }, /redis\.stallTimeout must be a duration/]
]

for (const [name, value, message] of BAD) {
  t.test(`refused with GK_CONFIG: ${name}`, async (t) => {
    t.throws(() => parseRedis(value), { code: 'GK_CONFIG', message })
  })
}

t.test('the core validates the option at registration', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(gatekeeper, { store: memoryStore(), redis: { client: fake, prefix: '' } })
    await app.ready()
  }, errors.GK_CONFIG)
})
