import { errors } from '../core/errors.js'
import { isWellFormed } from '../core/unicode.js'
import { isStorableName } from '../stores/types.js'
import { codePoints } from './passwords.js'
import { isRecord } from '../core/json.js'

/** Bounds of one string field, in Unicode code points. */
export interface StringField {
  minLength: number
  maxLength: number
  /** The field may be left out (default: required). */
  optional?: boolean
  /** A name (a username): no NUL either, which no store can hold alike. */
  name?: boolean
}

/** The JSON schema of a body made of required string fields (also shown by @fastify/swagger). */
export function stringBodySchema (fields: Record<string, StringField>): Record<string, unknown> {
  const properties: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(fields)) properties[name] = { type: 'string', minLength: f.minLength, maxLength: f.maxLength }
  const required = Object.keys(fields).filter((k) => fields[k]?.optional !== true)
  // OpenAPI 3.0 (and JSON Schema draft 4) refuse an empty `required` list: leave it out.
  return { type: 'object', ...(required.length === 0 ? {} : { required }), properties, additionalProperties: false }
}

type Result = { value: Record<string, string> } | { error: Error }

/**
 * A strict validator for such a body, used as the route's `validatorCompiler`.
 * Unlike Fastify's default Ajv settings it never coerces: `123` or `["x"]`
 * for a string field is a 400, not the string `"123"` or `"x"`. Unknown
 * fields are dropped; an optional field left out is absent from the value.
 * Ill-formed Unicode (a lone surrogate) is refused in every field. Errors are
 * `GK_INVALID_REQUEST` naming the field only.
 */
export function stringBodyValidator (fields: Record<string, StringField>): (data: unknown) => Result {
  const entries = Object.entries(fields)
  return function validate (data: unknown): Result {
    if (!isRecord(data)) {
      return { error: new errors.GK_INVALID_REQUEST('body must be a JSON object') }
    }
    const value: Record<string, string> = {}
    for (const [name, f] of entries) {
      const v = data[name]
      if (v === undefined && f.optional === true) continue
      if (typeof v !== 'string') return { error: new errors.GK_INVALID_REQUEST(`body/${name} must be a string`) }
      // Cheap bound first: a UTF-16 length over 2x the limit cannot fit in the code-point limit.
      if (v.length > f.maxLength * 2) return { error: new errors.GK_INVALID_REQUEST(`body/${name} is too long`) }
      const n = codePoints(v)
      if (n < f.minLength) return { error: new errors.GK_INVALID_REQUEST(`body/${name} is too short`) }
      if (n > f.maxLength) return { error: new errors.GK_INVALID_REQUEST(`body/${name} is too long`) }
      // Lone surrogates have no UTF-8 form: drivers and hashing would turn different strings into one.
      if (f.name === true ? !isStorableName(v) : !isWellFormed(v)) return { error: new errors.GK_INVALID_REQUEST(`body/${name} must be well-formed Unicode`) }
      value[name] = v
    }
    return { value }
  }
}
