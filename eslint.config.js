import neostandard from 'neostandard'

// The folders of feature plugins. The core and the stores know none of them:
// features plug into the core (strategies, route extensions, the permission
// model, audit events by declaration merging), never the other way round.
const FEATURES = ['accounts', 'api-key', 'bin', 'dpop', 'jwt', 'mfa', 'oauth2', 'protection', 'rbac', 'redis', 'refresh', 'resource-server', 'testing', 'versioning']
const feature = `^(\\.\\./)+(${FEATURES.join('|')})(/|$)`

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'data/**', 'node_modules/**'] }),
  {
    files: ['lib/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: feature, message: 'The core imports no feature folder: offer an extension point the feature registers with instead.' }] }]
    }
  },
  {
    files: ['lib/stores/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: `${feature}|^(\\.\\./)+index\\.js$`, message: 'A store imports no plugin: only the store contract and the neutral helpers of core/ (errors, durations).' }] }]
    }
  }
]
