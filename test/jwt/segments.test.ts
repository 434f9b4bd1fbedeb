import t from 'tap'
import { jwsText } from '../../lib/jwt/segments.js'

const seg = (b: Buffer | string): string => Buffer.from(b).toString('base64url')

t.test('jwsText decodes the header and payload of a compact JWS, and only valid UTF-8', async (t) => {
  t.same(jwsText(`${seg('{"alg":"HS256"}')}.${seg('{"name":"Zoë 🚀"}')}.sig`), { header: '{"alg":"HS256"}', payload: '{"name":"Zoë 🚀"}' })
  t.equal(jwsText(`${seg(Buffer.from([0x7b, 0xff, 0x7d]))}.${seg('{}')}.sig`), null, 'a header with FF')
  t.equal(jwsText(`${seg('{}')}.${seg(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))}.sig`), null, 'a payload with an encoded surrogate')
  t.equal(jwsText('no-dots'), null)
  t.equal(jwsText('one.dot'), null)
})
