/** Deletes the first-inserted entry of `map` (the oldest, for maps used as bounded caches) and returns it; `undefined` when empty. */
export function deleteOldest<K, V> (map: Map<K, V>): [K, V] | undefined {
  const first = map.entries().next()
  if (first.done === true) return undefined
  map.delete(first.value[0])
  return first.value
}
