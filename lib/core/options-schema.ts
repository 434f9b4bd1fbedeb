import type { Static, TSchema } from 'typebox'
import Value from 'typebox/value'
import { configError } from './errors.js'

/**
 * Options described once: a TypeBox schema gives both the TypeScript type
 * (`Static<typeof Schema>`) and the register-time check. A schema node may
 * carry `errorMessage` (what the value must be, in words a user acts on);
 * without it TypeBox's own message is used.
 */

type Node = Record<string, unknown>

/** The schema node a JSON pointer (`#/properties/a/anyOf/0`) names. */
function nodeAt (schema: unknown, pointer: string): Node | undefined {
  let node: unknown = schema
  for (const raw of pointer.replace(/^#\/?/, '').split('/').filter((s) => s.length > 0)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node !== null && typeof node === 'object' ? node as Node : undefined
}

/**
 * The `errorMessage` for a failing schema path: that of the outermost union
 * the failing node is a branch of (a value that fits no branch is described
 * by the union), else the node's own.
 */
function messageFor (schema: unknown, schemaPath: string, fallback: string): string {
  let pointer = schemaPath
  const own = nodeAt(schema, pointer)?.errorMessage
  let message = typeof own === 'string' ? own : fallback
  for (let branch = /\/(anyOf|oneOf)\/\d+$/.exec(pointer); branch !== null; branch = /\/(anyOf|oneOf)\/\d+$/.exec(pointer)) {
    pointer = pointer.slice(0, branch.index)
    const union = nodeAt(schema, pointer)?.errorMessage
    if (typeof union === 'string') message = union
  }
  return message
}

/** `/issuers/0/audience` → `issuers[0].audience`. */
function display (instancePath: string): string {
  let out = ''
  for (const part of instancePath.split('/').slice(1)) {
    out += /^\d+$/.test(part) ? `[${part}]` : `${out === '' ? '' : '.'}${part.replace(/~1/g, '/').replace(/~0/g, '~')}`
  }
  return out
}

function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `'${value.slice(0, 40)}'` : typeof value === 'object' ? 'an object' : typeof value === 'function' ? 'a function' : String(value)
}

function valueAt (root: unknown, instancePath: string): unknown {
  let v = root
  for (const part of instancePath.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  }
  return v
}

/**
 * Checks `value` against `schema` and returns it typed, or throws
 * `GK_CONFIG` naming the option, what it must be and what it was:
 * `resourceServer: issuers[0].audience must be a string or a non-empty array of strings (got 42)`.
 * An unknown key names the allowed ones.
 */
export function checkOptions<T extends TSchema> (schema: T, value: unknown, plugin: string): Static<T> {
  if (Value.Check(schema, value)) return value as Static<T>
  const root: unknown = schema
  const errors = [...Value.Errors(schema, value)].filter((e) => e.keyword !== 'boolean')
  const unknown = errors.find((e) => e.keyword === 'additionalProperties')
  if (unknown !== undefined) {
    const node = nodeAt(root, unknown.schemaPath)
    const allowed = Object.keys((node?.properties ?? {}) as Node)
    const names = (unknown.params as { additionalProperties?: string[] }).additionalProperties ?? []
    const where = display(unknown.instancePath)
    configError(`${plugin}: unknown option '${where === '' ? '' : `${where}.`}${names[0] ?? '?'}' (allowed: ${allowed.join(', ')})`)
  }
  const first = errors[0]
  if (first === undefined) return configError(`${plugin}: options must be an object`)
  if (first.keyword === 'required') {
    const name = (first.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? '?'
    const where = display(first.instancePath)
    const node = nodeAt(root, `${first.schemaPath}/properties/${name}`)
    const hint = typeof node?.errorMessage === 'string' ? `: it ${node.errorMessage}` : ''
    return configError(`${plugin}: the option '${where === '' ? '' : `${where}.`}${name}' is required${hint}`)
  }
  const where = display(first.instancePath)
  const message = messageFor(root, first.schemaPath, first.message)
  return configError(`${plugin}: ${where === '' ? 'options' : where} ${message} (got ${describeValue(valueAt(value, first.instancePath))})`)
}
