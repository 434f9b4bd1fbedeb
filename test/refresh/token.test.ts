import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import {
  deriveSuccessor, deriveSuccessorKey, generateToken, hashesEqual, hashToken, isTokenFormat, TOKEN_LENGTH
} from '../../lib/refresh/token.js'

t.test('a new token is 256 bits of base64url, and every one differs', async (t) => {
  const tokens = Array.from({ length: 1000 }, generateToken)
  t.ok(tokens.every((token) => token.length === TOKEN_LENGTH && Buffer.from(token, 'base64url').length === 32))
  t.ok(tokens.every((token) => isTokenFormat(token)), 'every generated token passes the format check')
  t.equal(new Set(tokens).size, 1000)
})

t.test('the format check refuses everything that is not exactly a token', async (t) => {
  const good = generateToken()
  const rows: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { token: good }],
    ['an array', [good]],
    ['the empty string', ''],
    ['one character short', good.slice(1)],
    ['one character long', good + 'A'],
    ['standard base64 characters', good.slice(0, 41) + '+A'],
    ['padding', good.slice(0, 42) + '='],
    ['a JWT (access token)', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl'],
    ['whitespace around it', ` ${good.slice(1)}`],
    ['non-ASCII look-alikes', good.slice(0, 42).replace(/.$/, 'а') + 'A'],
    ['a non-canonical last character', good.slice(0, 42) + 'B'],
    ['a megabyte', 'A'.repeat(1 << 20)]
  ]
  for (const [name, value] of rows) t.equal(isTokenFormat(value), false, name)
})

t.test('tokens are stored as SHA-256 hex', async (t) => {
  const token = generateToken()
  t.equal(hashToken(token), createHash('sha256').update(token).digest('hex'))
  t.match(hashToken(token), /^[0-9a-f]{64}$/)
})

t.test('hashes are compared whole', async (t) => {
  const a = hashToken('a')
  t.ok(hashesEqual(a, hashToken('a')))
  t.notOk(hashesEqual(a, hashToken('b')))
  t.notOk(hashesEqual(a, a.slice(0, 63)), 'a shorter hash never matches')
})

t.test('a successor is a well-formed token derived from the parent and the secret', async (t) => {
  const key = deriveSuccessorKey('s'.repeat(32))
  const parent = generateToken()
  const child = deriveSuccessor(key, parent)
  t.ok(isTokenFormat(child))
  t.equal(deriveSuccessor(deriveSuccessorKey('s'.repeat(32)), parent), child, 'every instance with the same secret derives the same child')
  t.equal(deriveSuccessorKey(Buffer.from('s'.repeat(32))).equals(key), true, 'a string and its bytes are the same secret')
  t.not(deriveSuccessor(deriveSuccessorKey('t'.repeat(32)), parent), child, 'another secret derives another child')
  t.not(deriveSuccessor(key, generateToken()), child, 'another parent derives another child')
})

t.test('whoever holds only the parent cannot compute the child', async (t) => {
  const secret = 'x'.repeat(32)
  const parent = generateToken()
  const child = deriveSuccessor(deriveSuccessorKey(secret), parent)
  // What an attacker without the secret could try.
  const guesses = [
    createHash('sha256').update(parent).digest('base64url'),
    createHmac('sha256', '').update(parent).digest('base64url'),
    createHmac('sha256', parent).update(parent).digest('base64url'),
    createHmac('sha256', secret).update(parent).digest('base64url'), // the raw secret is not the key either
    hashToken(parent)
  ]
  for (const g of guesses) t.not(g, child)
})
