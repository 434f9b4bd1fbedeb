/** A JSON object (or any object read as one), its values not yet checked. */
export type JsonObject = Record<string, unknown>

/** Whether `v` is a non-null, non-array object: a parsed JSON object, a schema, a config bag. */
export function isRecord (v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `v` when it is an object, otherwise a new empty one (a missing section of a document). */
export function recordOf (v: unknown): JsonObject {
  return isRecord(v) ? v : {}
}

/** The strings of `v`, an empty list when it is not an array. */
export function stringsOf (v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

/** The numbers of `v`, an empty list when it is not an array. */
export function numbersOf (v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []
}

/** The `key` field of `v` when `v` is an object (an error's `code`, a document's section), else `undefined`. */
export function fieldOf (v: unknown, key: string): unknown {
  return isRecord(v) ? v[key] : undefined
}

/** Whether `v` is a number without a fractional part. */
export function isInteger (v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v)
}
