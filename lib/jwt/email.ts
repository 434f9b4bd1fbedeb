/** Longest email address accepted, in code points after NFKC (RFC 5321 §4.5.3.1.3: a path is at most 256 octets, 254 without the brackets). */
export const MAX_EMAIL_LENGTH = 254

// Unquoted local parts only (RFC 5322 dot-atom), Unicode letters allowed (RFC 6531): a quoted
// local part, a comment or an address literal is legal but a favourite of header-injection and
// parser-differential tricks, and no real mailbox needs one.
const LOCAL = /^[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~-]+)*$/u
const LABEL = /^[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?$/u

/** The form an address is stored in: NFKC, trimmed; its case is kept. */
export function cleanEmail (email: string): string {
  return email.normalize('NFKC').trim()
}

/**
 * Whether `email` is a deliverable-looking address: `local@domain`, the local
 * part a dot-atom of at most 64 characters, the domain at least two labels of
 * letters, digits and inner hyphens (a top-level label not all digits), at
 * most 254 characters in all after NFKC and trimming. No whitespace, control
 * characters, quotes, comments or address literals.
 */
export function isValidEmail (email: unknown): email is string {
  if (typeof email !== 'string' || email.length > MAX_EMAIL_LENGTH * 4) return false
  const e = cleanEmail(email)
  if ([...e].length > MAX_EMAIL_LENGTH) return false
  const at = e.lastIndexOf('@')
  if (at < 1) return false
  const local = e.slice(0, at)
  const domain = e.slice(at + 1)
  if ([...local].length > 64 || !LOCAL.test(local)) return false
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return false
  return !/^\d+$/.test(labels.at(-1) ?? '')
}
