import Type, { type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'
import { DURATION_FORMS, type Duration } from './duration.js'
import { configError } from './errors.js'

/**
 * Options described once: a TypeBox schema gives both the TypeScript type
 * (`Static<typeof Schema>`) and the register-time check. A schema node may
 * carry `errorMessage` (what the value must be, in words a user acts on);
 * without it TypeBox's own message is used. A node's `message` is the whole
 * sentence, used as it is when the node is missing or wrong.
 */

type Node = Record<string, unknown>

/** A plain object or array: something keys can be read from. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object'
}

/** The schema node a JSON pointer (`#/properties/a/anyOf/0`) names. */
function nodeAt (schema: unknown, pointer: string): Node | undefined {
  let node: unknown = schema
  for (const raw of pointer.replace(/^#\/?/, '').split('/').filter((s) => s.length > 0)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (!isRecord(node)) return undefined
    node = node[key]
  }
  return isRecord(node) ? node : undefined
}

/** The whole-sentence `message` a failing node (or the union it is a branch of) carries, if any. */
function sentenceFor (schema: unknown, schemaPath: string): string | undefined {
  let pointer = schemaPath
  for (;;) {
    const own = nodeAt(schema, pointer)?.message
    if (typeof own === 'string') return own
    const branch = /\/(anyOf|oneOf)\/\d+$/.exec(pointer)
    if (branch === null) return undefined
    pointer = pointer.slice(0, branch.index)
  }
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
    if (!isRecord(v)) return undefined
    v = v[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  }
  return v
}

/**
 * How one plugin words its option errors. Paths are dotted with array
 * indexes (`issuers[0].audience`); `''` is the whole options object.
 */
export interface OptionsVoice {
  /** A value the schema refuses: `must` is the node's `errorMessage` (or TypeBox's), `got` the value. */
  invalid (path: string, must: string, got: unknown): string
  /** A missing required key; `must` is its node's `errorMessage`, if any. */
  required (path: string, must: string | undefined): string
  /** A key the object at `path` does not take. */
  unknown (path: string, key: string, allowed: readonly string[]): string
}

/** Keys whose values never appear in a message (a secret's first characters are still secret). */
const SENSITIVE = /secret|password|key|token|credential/i

function join (path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

/**
 * `resourceServer: issuers[0].audience must be a string or a non-empty array of strings (got 42)`;
 * an unknown key is `resourceServer: unknown option 'issuers[0].audiences' (allowed: ...)`.
 */
export function pluginVoice (plugin: string): OptionsVoice {
  return {
    invalid: (path, must, got) => `${plugin}: ${path === '' ? 'options' : path} ${must}${SENSITIVE.test(path) ? '' : ` (got ${describeValue(got)})`}`,
    required: (path, must) => `${plugin}: the option '${path}' is required${must === undefined ? '' : `: it ${must}`}`,
    unknown: (path, key, allowed) => `${plugin}: unknown option '${join(path, key)}' (allowed: ${allowed.join(', ')})`
  }
}

/**
 * Messages that name the option as users write it, without the value:
 * `rateLimit.max must be an integer from 1 to 1000000`,
 * `unknown option rateLimit.maxx (allowed: ...)`. `root` names the whole
 * options (`'jwt options'`), `prefix` starts every path (`'rateLimit.'`, `'accounts '` or `''`),
 * `topUnknown` words an unknown top-level key when it differs.
 */
export function dottedVoice (root: string, prefix: string, topUnknown?: (key: string, allowed: readonly string[]) => string): OptionsVoice {
  const name = (path: string): string => path === '' ? root : prefix + path
  return {
    invalid: (path, must) => `${name(path)} ${must}`,
    required: (path, must) => `${name(path)} ${must === undefined ? 'is required' : must.startsWith('is required') ? must : `is required: it ${must}`}`,
    unknown: (path, key, allowed) => path === '' && topUnknown !== undefined
      ? topUnknown(key, allowed)
      : `unknown option ${join(name(path), key)} (allowed: ${allowed.join(', ')})`
  }
}

/**
 * Checks `value` against `schema` and returns it typed, or throws
 * `GK_CONFIG` in the plugin's voice, naming the option and what it must be:
 * `resourceServer: issuers[0].audience must be a string or a non-empty array of strings (got 42)`.
 * An unknown key names the allowed ones. A plugin name picks {@link pluginVoice}.
 */
export function checkOptions<T extends TSchema> (schema: T, value: unknown, voice: string | OptionsVoice): Static<T> {
  if (Value.Check(schema, value)) return value
  const say = typeof voice === 'string' ? pluginVoice(voice) : voice
  const root: unknown = schema
  const errors = [...Value.Errors(schema, value)].filter((e) => e.keyword !== 'boolean')
  const unknown = errors.find((e) => e.keyword === 'additionalProperties')
  if (unknown !== undefined) {
    const node = nodeAt(root, unknown.schemaPath)
    const allowed = Object.keys(node?.properties ?? {})
    const names: unknown = unknown.params.additionalProperties
    configError(say.unknown(display(unknown.instancePath), Array.isArray(names) ? String(names[0]) : '?', allowed))
  }
  // Within a union the branch that got furthest into the value says what is wrong (routes.login, not routes).
  const depth = (e: { instancePath: string, keyword: string }): number => e.instancePath.split('/').length + (e.keyword === 'required' ? 1 : 0)
  const first = errors.reduce<typeof errors[number] | undefined>((best, e) => best === undefined || depth(e) > depth(best) ? e : best, undefined)
  if (first === undefined) return configError(say.invalid('', 'must be an object', value))
  const where = display(first.instancePath)
  if (first.keyword === 'required') {
    const names: unknown = first.params.requiredProperties
    const name = Array.isArray(names) ? String(names[0]) : '?'
    const node = nodeAt(root, `${first.schemaPath}/properties/${name}`)
    if (typeof node?.message === 'string') return configError(node.message)
    const own = node?.errorMessage
    return configError(say.required(join(where, name), typeof own === 'string' ? own : undefined))
  }
  const sentence = sentenceFor(root, first.schemaPath)
  if (sentence !== undefined) return configError(sentence)
  return configError(say.invalid(where, messageFor(root, first.schemaPath, first.message), valueAt(value, first.instancePath)))
}

/**
 * A duration option: a string such as `'15m'` or a number of milliseconds.
 * Its unit and bounds are checked by `boundedMs`, which applies the default.
 */
export const DurationOption = Type.Unsafe<Duration>(Type.Union([Type.String(), Type.Number()], { errorMessage: `must be a duration: ${DURATION_FORMS}` }))

/** A function option, typed `F`; `must` says its shape (`'must be a function (user) => ...'`). */
export function FunctionOption<F> (must: string): ReturnType<typeof Type.Unsafe<F>> {
  return Type.Unsafe<F>(Type.Function([], Type.Unknown(), { errorMessage: must }))
}
