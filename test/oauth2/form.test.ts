import t from 'tap'
import { OAuthError } from '../../lib/oauth2/errors.js'
import { grantScopes, parseBasic, parseForm } from '../../lib/oauth2/form.js'

/** The RFC 6749 error name `fn` throws, or 'none'. */
function oauthError (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return err instanceof OAuthError ? `${err.error} ${err.statusCode}` : 'other'
  }
  return 'none'
}

t.test('Basic credentials are form-decoded after the base64 step (RFC 6749 §2.3.1)', async (t) => {
  const b = (s: string): string => 'Basic ' + Buffer.from(s).toString('base64')
  t.same(parseBasic(b('cid_1:s3cret')), { id: 'cid_1', secret: 's3cret' })
  t.same(parseBasic(b('a+b%3Ac:x%2By:z')), { id: 'a b:c', secret: 'x+y:z' }, 'the first raw colon splits; encoded colons and pluses decode')
  t.same(parseBasic('basic ' + Buffer.from('a:b').toString('base64')), { id: 'a', secret: 'b' }, 'scheme is case-insensitive')
  t.equal(parseBasic(undefined), null)
  t.equal(parseBasic('Bearer abc'), null, 'another scheme is not ours')
  t.equal(oauthError(() => parseBasic(['Basic a', 'Basic b'])), 'invalid_request 400')
  for (const bad of ['Basic ', 'Basic ***', b(':secret'), b('nocolon'), b('%E0%A4%A:x')]) {
    t.equal(oauthError(() => parseBasic(bad)), 'invalid_client 401', bad)
  }
})

t.test('a form parameter sent twice is invalid_request', async (t) => {
  t.same([...parseForm('a=1&b=2+3')], [['a', '1'], ['b', '2 3']])
  t.equal(oauthError(() => parseForm('scope=a&scope=b')), 'invalid_request 400')
})

t.test('granted scopes: all by default, a subset on request, invalid_scope otherwise', async (t) => {
  const allowed = ['a:read', 'a:write']
  t.same(grantScopes(undefined, allowed), allowed)
  t.same(grantScopes('a:write a:write', allowed), ['a:write'])
  const rows = ['', ' ', 'a:read  a:write', 'b:read', 'a:read\u00e9', 'a:"read', 'a:read\\', Array(65).fill('a:read').join(' ')]
  for (const r of rows) t.equal(oauthError(() => grantScopes(r, allowed)), 'invalid_scope 400', JSON.stringify(r.slice(0, 20)))
})

t.test('an OAuthError serialises to the RFC 6749 §5.2 body with its GK_ code', async (t) => {
  t.same(new OAuthError('invalid_scope').toJSON(), { error: 'invalid_scope', code: 'GK_INVALID_REQUEST' })
  t.same(new OAuthError('invalid_request', 'why').toJSON(), { error: 'invalid_request', error_description: 'why', code: 'GK_INVALID_REQUEST' })
  t.equal(new OAuthError('invalid_client').statusCode, 401)
})
