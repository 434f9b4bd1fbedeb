// Variant "full": the plugin stack of examples/full on a SQLite file (see bench/lib/full-stack.ts).
import { startFull } from '../lib/full-stack.js'

await startFull()
