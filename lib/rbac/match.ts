import { coveringKeys, parseGrant } from './permission.js'
import { deleteOldest } from '../core/maps.js'

/** A granted list compiled for lookups: full grants and `:own` grants by canonical key. */
export interface GrantSet {
  readonly any: ReadonlySet<string>
  readonly own: ReadonlySet<string>
}

/** Compiles a granted list; malformed entries grant nothing. */
export function compileGrants (granted: readonly string[]): GrantSet {
  const any = new Set<string>()
  const own = new Set<string>()
  for (const permission of granted) {
    const g = parseGrant(permission)
    if (g === null) continue
    if (g.own) own.add(g.key)
    else any.add(g.key)
  }
  return { any, own }
}

/**
 * Whether `set` covers a request whose covering keys are `keys`: `true`
 * outright, `'own'` through a `:own` grant only, `false` otherwise.
 */
export function matchKeys (set: GrantSet, keys: readonly string[] | null): boolean | 'own' {
  if (keys === null) return false
  for (const k of keys) if (set.any.has(k)) return true
  for (const k of keys) if (set.own.has(k)) return 'own'
  return false
}

/** Combines the answers of an owner's permissions and an application's scopes (scopes ∩ owner). */
export function intersect (a: boolean | 'own', b: boolean | 'own'): boolean | 'own' {
  if (a === false || b === false) return false
  return a === true && b === true ? true : 'own'
}

/**
 * A bounded map: when full, the least recently used entry goes. Recency is
 * only tracked once the map is full, so hits stay a single lookup until
 * there is pressure.
 */
export class BoundedCache<V> {
  readonly #map = new Map<string, V>()
  constructor (readonly max: number) {}

  get (key: string): V | undefined {
    const v = this.#map.get(key)
    if (v !== undefined && this.#map.size >= this.max) {
      this.#map.delete(key)
      this.#map.set(key, v)
    }
    return v
  }

  set (key: string, value: V): void {
    this.#map.delete(key)
    if (this.#map.size >= this.max) deleteOldest(this.#map)
    this.#map.set(key, value)
  }

  get size (): number {
    return this.#map.size
  }
}

/**
 * Matches requested permissions against compiled sets. The covering keys of
 * each requested permission are computed once and kept (bounded), so a
 * check is at most eight set lookups.
 */
export class Matcher {
  readonly #keys: BoundedCache<readonly string[] | null>
  readonly #sets = new WeakMap<readonly string[], GrantSet>()

  constructor (cacheSize: number) {
    this.#keys = new BoundedCache(cacheSize)
  }

  /** The covering keys of a requested permission. */
  keysOf (permission: string): readonly string[] | null {
    let keys = this.#keys.get(permission)
    if (keys === undefined) {
      keys = coveringKeys(permission)
      this.#keys.set(permission, keys)
    }
    return keys
  }

  /** The compiled form of a granted list, cached by the list's identity. */
  setOf (granted: readonly string[]): GrantSet {
    let set = this.#sets.get(granted)
    if (set === undefined) {
      set = compileGrants(granted)
      this.#sets.set(granted, set)
    }
    return set
  }

  /** Remembers the compiled form of a list this module produced. */
  remember (granted: readonly string[], set: GrantSet): void {
    this.#sets.set(granted, set)
  }

  /** Whether `granted` covers `permission`: `true`, `'own'` or `false`. */
  check (granted: readonly string[], permission: string): boolean | 'own' {
    if (!Array.isArray(granted)) return false
    return matchKeys(this.setOf(granted), this.keysOf(permission))
  }
}
