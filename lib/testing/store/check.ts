import assert from 'node:assert'

/** An assertion's optional message (a rest tuple, the form tap's signatures take). */
export type Message = [] | [message: string]

/** What a rejection is matched against: its `code` and any other fields. */
export interface ErrorPattern { code: string, [field: string]: unknown }

/**
 * The few things the conformance suites ask of a test runner: subtests, a
 * teardown, and nine assertions. tap's `t` is one as it is (these are
 * methods, so its overloads fit); {@link nodeTest} makes one from
 * `node:test`; any other runner needs only these methods. Assertion
 * semantics are tap's: `same` is deep equality, `match` a partial match (see
 * {@link matches}).
 */
export interface Check {
  /** Runs `fn` as a subtest; the runner awaits it before the parent ends. */
  test (name: string, fn: (t: Check) => Promise<void>): unknown
  /** Runs `fn` once this test has ended (its subtests included). */
  teardown (fn: () => unknown): unknown
  /** `actual === expected`. */
  equal (actual: unknown, expected: unknown, ...message: Message): unknown
  /** `actual !== expected`. */
  not (actual: unknown, expected: unknown, ...message: Message): unknown
  /** Deep equality. */
  same (actual: unknown, expected: unknown, ...message: Message): unknown
  /** Every field the pattern names matches (see {@link matches}). */
  match (actual: unknown, pattern: unknown, ...message: Message): unknown
  /** A truthy value. */
  ok (value: unknown, ...message: Message): unknown
  /** `typeof value === type`. */
  type (value: unknown, type: string, ...message: Message): unknown
  /** The promise rejects with an error matching `pattern` (see {@link matches}). */
  rejects (promise: Promise<unknown>, ...rest: [] | [pattern: ErrorPattern] | [pattern: ErrorPattern, message: string]): unknown
  /** The promise resolves. */
  resolves (promise: Promise<unknown>, ...message: Message): unknown
}

/**
 * tap's partial match, for the patterns the suites use: a regular expression
 * tests a string, a string is a substring of a string, a `Date` equals the same
 * instant, an array or object matches field by field (fields the pattern does
 * not name are ignored), anything else is `==`.
 */
export function matches (actual: unknown, pattern: unknown): boolean {
  if (pattern instanceof RegExp) return typeof actual === 'string' && pattern.test(actual)
  if (pattern instanceof Date) return actual instanceof Date && actual.getTime() === pattern.getTime()
  if (typeof pattern === 'string' && typeof actual === 'string') return actual.includes(pattern)
  if (pattern !== null && typeof pattern === 'object') {
    if (actual === null || typeof actual !== 'object') return false
    if (Array.isArray(pattern) && (!Array.isArray(actual) || actual.length !== pattern.length)) return false
    return Object.entries(pattern).every(([k, v]) => matches(Reflect.get(actual, k), v))
  }
  // eslint-disable-next-line eqeqeq -- tap's match compares scalars loosely
  return actual == pattern
}

/** The `test` function of `node:test` (or one with its shape). */
export type NodeTestFn = (name: string, fn: (ctx: NodeTestContext) => Promise<void>) => unknown

/** The part of a `node:test` context the adapter uses. */
export interface NodeTestContext {
  test: (name: string, fn: (ctx: NodeTestContext) => Promise<void>) => Promise<void>
  after: (fn: () => unknown) => unknown
}

/**
 * A {@link Check} over `node:test` and `node:assert`:
 * `storeConformance(nodeTest(test), 'my store', makeStore)` with
 * `import { test } from 'node:test'`. Subtests are awaited before their
 * parent ends, as `node:test` requires.
 */
export function nodeTest (test: NodeTestFn): Check {
  const run = (fn: (t: Check) => Promise<void>) => async (ctx: NodeTestContext): Promise<void> => {
    const pending: Array<Promise<void>> = []
    await fn(checkOf(ctx, pending))
    while (pending.length > 0) await pending.shift()
  }
  const root = checkOf({ test: async () => {}, after: () => {} }, [])
  return { ...root, test: (name, fn) => test(name, run(fn)) }

  function checkOf (ctx: NodeTestContext, pending: Array<Promise<void>>): Check {
    return {
      test: (name, fn) => { pending.push(ctx.test(name, run(fn))) },
      teardown: (fn) => ctx.after(fn),
      equal: (a, e, ...[m]) => assert.strictEqual(a, e, m),
      not: (a, e, ...[m]) => assert.notStrictEqual(a, e, m),
      same: (a, e, ...[m]) => assert.deepEqual(a, e, m),
      match: (a, p, ...[m]) => assert.ok(matches(a, p), m ?? `${inspect(a)} does not match ${inspect(p)}`),
      ok: (v, ...[m]) => assert.ok(v, m),
      type: (v, type, ...[m]) => assert.strictEqual(typeof v, type, m),
      rejects: async (promise, ...[pattern, m]) => {
        let error: unknown
        try { await promise } catch (e) { error = e ?? new Error('rejected with nothing') }
        assert.ok(error !== undefined, m ?? 'expected a rejection')
        if (pattern !== undefined) assert.ok(matches(error, pattern), m ?? `${inspect(error)} does not match ${inspect(pattern)}`)
      },
      resolves: async (promise, ...[m]) => { await assert.doesNotReject(promise, m) }
    }
  }
}

function inspect (v: unknown): string {
  try { return JSON.stringify(v) ?? String(v) } catch { return String(v) }
}
