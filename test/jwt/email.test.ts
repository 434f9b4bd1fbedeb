import t from 'tap'
import { isValidEmail, MAX_EMAIL_LENGTH } from '../../lib/jwt/email.js'

t.test('addresses people have are accepted', async (t) => {
  for (const e of [
    'ada@example.org', 'Ada.Lovelace@Example.ORG', 'first.last+tag@sub.example.co.uk', "o'brien@example.ie",
    'x@a.io', 'user_name-1@my-host.example', 'josé@exämple.de', '用户@例子.广告', '  padded@example.org  ',
    `${'a'.repeat(64)}@example.org`
  ]) t.ok(isValidEmail(e), e)
})

t.test('malformed, dangerous and over-long addresses are refused', async (t) => {
  const rows: Array<[string, unknown]> = [
    ['no @', 'ada.example.org'],
    ['nothing before @', '@example.org'],
    ['nothing after @', 'ada@'],
    ['a single-label domain', 'ada@localhost'],
    ['an all-digit top-level label', 'ada@10.0.0.1'],
    ['an address literal', 'ada@[127.0.0.1]'],
    ['two @', 'ada@evil.example@example.org'],
    ['a space inside', 'ada lovelace@example.org'],
    ['CRLF header injection', 'ada@example.org\r\nBcc: victim@example.org'],
    ['a bare LF', 'ada@example.org\nx'],
    ['a NUL', 'ada\u0000@example.org'],
    ['a quoted local part', '"ada lovelace"@example.org'],
    ['a comment', 'ada(comment)@example.org'],
    ['angle brackets (a display name)', 'Ada <ada@example.org>'],
    ['a comma (two recipients)', 'ada@example.org,eve@example.org'],
    ['a semicolon', 'ada@example.org;eve@example.org'],
    ['a leading dot', '.ada@example.org'],
    ['a double dot', 'ada..l@example.org'],
    ['a trailing dot in the local part', 'ada.@example.org'],
    ['an empty label', 'ada@example..org'],
    ['a label starting with a hyphen', 'ada@-example.org'],
    ['a local part of 65 characters', `${'a'.repeat(65)}@example.org`],
    ['over 254 characters', `a@${['b', 'c', 'd', 'e', 'f'].map((l) => l.repeat(60)).join('.')}.org`],
    ['a huge string', `${'a'.repeat(MAX_EMAIL_LENGTH * 5)}@example.org`],
    ['a number', 42],
    ['null', null],
    ['an array', ['ada@example.org']]
  ]
  for (const [name, value] of rows) t.notOk(isValidEmail(value), name)
})
