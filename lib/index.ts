export { gatekeeper } from './gatekeeper.js'
export { rbac, type RbacApi, type RbacOptions, type RoleInfo, type RoleDefinition, type RolesConfig } from './rbac/index.js'
export { versioning, type VersioningOptions, type VersionOptions, type VersionHelper } from './versioning/index.js'
export { refresh, type RefreshApi, type RefreshOptions, type RefreshTransport } from './refresh/index.js'
export type { Gatekeeper, RouteExtension } from './core/gatekeeper.js'
export { declareService } from './core/services.js'
export { errors, isGatekeeperError, type GatekeeperErrorCode } from './core/errors.js'
export type { AuditTrail, AuditInput } from './core/audit.js'
export { REDACT_PATHS, secureLogger, fingerprint } from './core/logging.js'
export type { Duration } from './core/duration.js'
export type { PermissionModel } from './core/permissions.js'
export type { AfterAuthentication, Gate, RoutePolicy } from './core/policy.js'
export {
  type AuthContext,
  type Anomaly,
  type AuditEvent,
  type AuditEventBase,
  type AuditEvents,
  type AuditEventType,
  type AuditOptions,
  type BuiltinStrategy,
  type DefaultAuth,
  type GatekeeperOptions,
  type GatekeeperEventMap,
  type GatekeeperUser,
  type OwnerResolver,
  type RouteAuthConfig,
  type RouteAuthOptions,
  type RouteAuthRequirement,
  type RouteProtection,
  type RouteRequirement,
  type Strategy,
  type StrategyName
} from './core/types.js'
export type {
  AccountTokenKind, AccountTokenRecord, AccountTokenRepository, ApiKeyRecord, ApiKeyRepository, ChallengeKind, ChallengeRecord,
  ChallengeRepository, ConsumeResult, CounterUpdate, GatekeeperStore, IdentityRecord, IdentityRepository, MfaFactorKind,
  MfaFactorRecord, MfaFactorRepository, NewAccountToken, NewApiKey, NewChallenge, NewMfaFactor, NewRefreshFamily, NewRefreshToken,
  NewUser, NewWebAuthnCredential, OAuthClientPatch, OAuthClientRecord, OAuthClientRepository, RecoveryCodeRepository,
  RefreshFamilyRecord, RefreshTokenRecord, RefreshTokenRepository, UserPatch, UserRecord, UserRepository, WebAuthnCredentialRecord,
  WebAuthnCredentialRepository
} from './stores/types.js'
export { isStorableName, normalizeEmail, normalizeLogin } from './stores/types.js'
export { jwt, type JwtOptions, type JwtApi, type LoginGuard, type LoginExtension, type LogoutExtension, type PublicUser, type IssuedToken } from './jwt/index.js'
export { apiKey, type ApiKeyOptions, type ApiKeyService, type ApiKeyInfo, type CreateApiKeyInput, type CreatedApiKey, type RotatedApiKey } from './api-key/index.js'
export { dpop, type DpopOptions } from './dpop/index.js'
export { resourceServer, type ResourceServerApi, type ResourceServerOptions, type IssuerOptions, type ClaimMapping, type PresetName } from './resource-server/index.js'
export { oauth2, type OAuth2Api, type OAuth2Options, type OidcOptions, type OidcProviderOptions, type ClientApi, type ClientInfo, type CreatedClient, type RotatedClient } from './oauth2/index.js'
export { accounts, nodemailerSender, type AccountsApi, type AccountsOptions, type AccountIdentifier, type AccountMail, type MailKind, type NodemailerSenderOptions, type SendMail } from './accounts/index.js'
export type { BruteForceOptions, CounterStore, ProtectionApi, RateLimitOptions } from './protection/index.js'
export type { RedisClient, RedisOption, RedisOptions } from './redis/index.js'
export { gatekeeperOpenApi, type SwaggerOptionsLike } from './core/openapi.js'

/** The gatekeeper plugin, as the default export: `app.register(import('fastify-gatekeeper'), options)`. */
export { gatekeeper as default } from './gatekeeper.js'
