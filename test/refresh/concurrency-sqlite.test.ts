import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteStore } from '../../lib/stores/sqlite.js'
import { refreshConcurrency } from './concurrency.js'

const dir = mkdtempSync(join(tmpdir(), 'gk-refresh-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

refreshConcurrency('sqlite store (file)', async () => sqliteStore({ filename: join(dir, `refresh-${++n}.db`) }))
