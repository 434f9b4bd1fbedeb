/**
 * `fastify-gatekeeper/testing/store`: the conformance suites every bundled
 * store runs, for your own store. Runner-agnostic: pass tap's `t`, or
 * `nodeTest(test)` for `node:test`, or any object with the {@link Check}
 * methods.
 */
export { storeConformance, type StoreConformanceOptions } from './conformance.js'
export { counterStoreConformance, type Clocked } from './counters.js'
export { nodeTest, matches, type Check, type ErrorPattern, type Message, type NodeTestFn, type NodeTestContext } from './check.js'
