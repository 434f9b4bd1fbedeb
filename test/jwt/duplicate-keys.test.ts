import t from 'tap'
import { hasDuplicateKeys, tokenHasDuplicateKeys } from '../../lib/jwt/duplicate-keys.js'

t.test('duplicate member names are found at any depth, after unescaping', async (t) => {
  const rows: Array<[string, boolean]> = [
    ['{"a":1,"b":2}', false],
    ['{"a":1,"a":2}', true],
    ['{"a":1,"\\u0061":2}', true],
    ['{ "a" : 1 , "b" : { "c" : [ 1 , { "d" : 1 , "d" : 2 } ] } }', true],
    ['{"a":{"x":1},"b":{"x":1}}', false],
    ['{"a":"\\"a\\":1","b":"x"}', false],
    ['{"s":"{\\"a\\":1,\\"a\\":2}"}', false],
    ['[{"a":1},{"a":2}]', false],
    ['{}', false],
    ['[]', false],
    ['{"a":[],"b":{}}', false],
    ['{"a":true,"b":null,"c":-1.5e3,"a":false}', true],
    ['"plain"', false],
    ['42', false]
  ]
  for (const [json, dup] of rows) {
    JSON.parse(json) // every row is valid JSON
    t.equal(hasDuplicateKeys(json), dup, json)
  }
})

t.test('tokenHasDuplicateKeys looks at the header and the payload segments', async (t) => {
  const seg = (s: string) => Buffer.from(s).toString('base64url')
  t.equal(tokenHasDuplicateKeys(`${seg('{"alg":"HS256"}')}.${seg('{"sub":"a"}')}.sig`), false)
  t.equal(tokenHasDuplicateKeys(`${seg('{"alg":"none","alg":"HS256"}')}.${seg('{"sub":"a"}')}.sig`), true)
  t.equal(tokenHasDuplicateKeys(`${seg('{"alg":"HS256"}')}.${seg('{"sub":"a","sub":"b"}')}.sig`), true)
  t.equal(tokenHasDuplicateKeys('no-dots'), false)
})
