export { jwt, JWKS_MAX_AGE, JWKS_PATH, type JwtOptions } from './plugin.js'
export { KEY_ALGORITHMS, MIN_RSA_BITS, MIN_SECRET_BYTES, type JwtKey, type KeyAlgorithm, type KeyInput } from './keys.js'
export { OWASP_ARGON2, normalizePassword, type Argon2Params, type PasswordPolicy } from './passwords.js'
export { ACCESS_TOKEN_TYP, TokenService } from './tokens.js'
export { parseBearer } from './bearer.js'
export { toJwks, type PublicJwk } from './jwks.js'
export { COMMON_PASSWORDS } from './common-passwords.js'
export { MAX_EMAIL_LENGTH, isValidEmail } from './email.js'
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
