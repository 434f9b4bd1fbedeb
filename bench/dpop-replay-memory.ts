/**
 * The DPoP replay cache's memory at a given request rate: `tsx --expose-gc
 * bench/dpop-replay-memory.ts [requests/s]` (default 10,000). Fills the
 * in-memory cache as that many proofs a second for its whole window would
 * (maxAge 60 s + clockTolerance 5 s, the defaults) and prints the heap it
 * holds, measured after a full GC.
 */
import { randomUUID } from 'node:crypto'
import { MemoryReplayCache, replayKey } from '../lib/dpop/replay.js'

const rate = Number(process.argv[2] ?? 10_000)
const windowS = 65
const entries = rate * windowS
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc (tsx --expose-gc)')
const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const t0 = Date.now()
gc()
const before = process.memoryUsage().heapUsed
const cache = new MemoryReplayCache(1_000_000, t0)
for (let i = 0; i < entries; i++) {
  // Proofs arrive over the window: each expires maxAge + tolerance after its iat.
  const at = t0 + Math.floor(i / rate) * 1000
  cache.record(replayKey(jkt, randomUUID()), at + windowS * 1000, at)
}
gc()
const held = process.memoryUsage().heapUsed - before
process.stdout.write(`${rate} proofs/s × ${windowS} s window: ${cache.size} entries, ${(held / 1e6).toFixed(1)} MB heap, ${(held / cache.size).toFixed(0)} bytes per entry\n`)
