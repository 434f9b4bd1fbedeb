// In a `u` regular expression a surrogate pair is one code point: only a lone surrogate is in \p{Cs}.
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Whether `text` is well-formed Unicode: no lone (unpaired) UTF-16
 * surrogate. Ill-formed text has no UTF-8 form: drivers and normalisation
 * replace or mangle its surrogates differently (three U+FFFD here, one
 * there, U+DC00 elsewhere), so two different names could become one.
 */
export function isWellFormed (text: string): boolean {
  return !LONE_SURROGATE.test(text)
}
