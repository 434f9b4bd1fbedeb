import { configError } from '../core/errors.js'
import { isRecord } from '../core/json.js'
import type { GatekeeperStore } from './types.js'

/**
 * The store's repository `part`, checked when a plugin registers: `GK_CONFIG`
 * with `missing` (which says why the plugin needs it) when the store has none,
 * and naming the first of `methods` it lacks.
 */
export function storeRepository<K extends keyof GatekeeperStore> (store: GatekeeperStore, part: K, methods: readonly string[], missing: string): NonNullable<GatekeeperStore[K]> {
  const repo = store[part]
  if (!isRecord(repo)) return configError(missing)
  for (const m of methods) if (typeof repo[m] !== 'function') configError(`store.${part}.${m}() is missing`)
  return repo
}
