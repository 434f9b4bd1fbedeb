import t from 'tap'
import { byVersionNumber, matchVersion } from '../../lib/versioning/match.js'

t.test('a path belongs to a version when it is prefix/vN or starts with prefix/vN/', async (t) => {
  const rows: Array<[string, string, { version: string, rest: string } | null]> = [
    ['/api/v1/posts', '/api', { version: 'v1', rest: '/posts' }],
    ['/api/v1/posts/:id', '/api', { version: 'v1', rest: '/posts/:id' }],
    ['/api/v1', '/api', { version: 'v1', rest: '' }],
    ['/api/v1/', '/api', { version: 'v1', rest: '/' }],
    ['/api/v12/x?token=abc', '/api', { version: 'v12', rest: '/x' }],
    ['/api/v9/anything', '/api', { version: 'v9', rest: '/anything' }],
    ['/v2/posts', '', { version: 'v2', rest: '/posts' }],
    ['/a/b/v3/c', '/a/b', { version: 'v3', rest: '/c' }],
    ['/api/v1beta/posts', '/api', null],
    ['/api/V1/posts', '/api', null],
    ['/api/v/posts', '/api', null],
    ['/api/:version/posts', '/api', null],
    ['/api/health', '/api', null],
    ['/apiv1/posts', '/api', null],
    ['/api', '/api', null],
    ['/health', '/api', null],
    ['/other/v1/posts', '/api', null],
    ['/api?/v1', '/api', null]
  ]
  for (const [path, prefix, expected] of rows) t.same(matchVersion(path, prefix), expected, `${path} under '${prefix}'`)
})

t.test('versions sort by number', async (t) => {
  t.same(['v10', 'v2', 'v1'].sort(byVersionNumber), ['v1', 'v2', 'v10'])
})
