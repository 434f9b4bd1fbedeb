export { jwt, JWKS_MAX_AGE, type JwtOptions } from './plugin.js'
export type { JwtKey, KeyAlgorithm, KeyInput } from './keys.js'
export type { Argon2Params, PasswordPolicy } from './passwords.js'
export type { PublicJwk } from './jwks.js'
export type {
  AccessTokenClaims,
  CreateUserInput,
  IssuedToken,
  IssueExtra,
  JwtApi,
  LoginAttempt,
  LoginExtension,
  LoginGuard,
  LogoutExtension,
  PasswordApi,
  PasswordProblem,
  PublicUser,
  RegisterExtension,
  RoleFilter,
  SessionsEnded,
  SetPasswordOptions,
  TokenApi,
  TokenSubject,
  UserApi
} from './types.js'

/** The jwt plugin, as the default export: `app.register(import('fastify-gatekeeper/jwt'), options)`. */
export { jwt as default } from './plugin.js'
