import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { matches } from 'fastify-gatekeeper/testing/store'

const fixture = fileURLToPath(new URL('./fixtures/node-test-store.ts', import.meta.url))

function runNodeTest (env: Record<string, string> = {}): { status: number | null, pass: number, fail: number, out: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 })
  const count = (k: string): number => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(res.stdout)?.[1] ?? -1)
  return { status: res.status, pass: count('pass'), fail: count('fail'), out: res.stdout + res.stderr }
}

t.test('under node:test, the memory store and memory counters pass the shipped suites', async (t) => {
  const { status, pass, fail, out } = runNodeTest()
  t.equal(status, 0, out.slice(-2000))
  t.equal(fail, 0)
  t.ok(pass >= 80, `${pass} tests passed`)
})

t.test('under node:test, a store with case-sensitive logins and a counter store with a frozen clock fail them', async (t) => {
  const { status, fail, out } = runNodeTest({ GK_BROKEN: '1' })
  t.not(status, 0)
  t.ok(fail > 0, `${fail} failed`)
  t.match(out, /not ok \d+ - users/)
  t.match(out, /not ok \d+ - memory counters: a counter counts within its fixed window/)
})

t.test('match is tap\'s partial match', async (t) => {
  const rows: Array<[unknown, unknown, boolean, string]> = [
    [{ a: 1, b: 2 }, { a: 1 }, true, 'fields the pattern does not name are ignored'],
    [{ a: 1 }, { a: 2 }, false, 'a named field must match'],
    [{ a: { b: [1, 2] } }, { a: { b: [1, 2] } }, true, 'nested objects and arrays'],
    [[1, 2, 3], [1, 2], false, 'arrays of another length'],
    ['GK_CONFLICT: email taken', /email/, true, 'a regular expression tests a string'],
    ['abc', 'b', true, 'a string is a substring'],
    [new Date(5), new Date(5), true, 'dates: the same instant'],
    [new Date(5), new Date(6), false, 'dates: another instant'],
    ['5', new Date(5), false, 'a date matches only a date'],
    [null, { a: 1 }, false, 'null matches no object'],
    [Object.assign(new Error('x'), { code: 'GK_CONFLICT', statusCode: 409 }), { code: 'GK_CONFLICT', statusCode: 409 }, true, 'an error by its fields']
  ]
  for (const [actual, pattern, expected, why] of rows) t.equal(matches(actual, pattern), expected, why)
})
