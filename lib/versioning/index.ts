export { versioning, type VersionHelper } from './plugin.js'
export { type DateInput, type VersioningOptions, type VersionOptions } from './options.js'
export { deprecationValue, sunsetValue } from './headers.js'
