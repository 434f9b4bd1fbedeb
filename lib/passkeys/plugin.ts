import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import '../core/augment.js'
import { configError } from '../core/errors.js'
import { isRecord } from '../core/json.js'
import { storeRepository } from '../stores/repository.js'
import { declareService } from '../core/services.js'
import type { GatekeeperStore } from '../stores/types.js'
import '../jwt/plugin.js'
import { Ceremonies } from './ceremonies.js'
import { passkeysContext, type PasskeysApi } from './context.js'
import { webauthnFactor } from './factor.js'
// Type only: the mfa plugin's declaration of gk.mfa; nothing of it (nor its TOTP libraries) is loaded.
import type {} from '../mfa/plugin.js'
import { normalizePasskeysOptions, type PasskeysOptions } from './options.js'
import type { PasskeyPort } from './port.js'
import { passkeyRoutes } from './routes.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

export type { PasskeysOptions } from './options.js'

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** A user's passkeys (list, rename, remove); set when the `passkeys` plugin is registered. */
    readonly passkeys: PasskeysApi
  }
}

declareService('passkeys', 'passkeys')

const CREDENTIAL_METHODS = ['create', 'findById', 'listByUser', 'updateCounter', 'rename', 'delete'] as const
const CHALLENGE_METHODS = ['create', 'consume'] as const

/** The store's WebAuthn credentials and challenges, checked at registration. */
function port (store: GatekeeperStore): PasskeyPort {
  const missing = 'the passkeys plugin needs store.webauthnCredentials and store.challenges: this store has none (every bundled store has them; a custom store must implement them)'
  if (!isRecord(store.webauthnCredentials) || !isRecord(store.challenges)) configError(missing)
  return {
    credentials: storeRepository(store, 'webauthnCredentials', CREDENTIAL_METHODS, missing),
    challenges: storeRepository(store, 'challenges', CHALLENGE_METHODS, missing)
  }
}

async function passkeysPlugin (app: FastifyInstance, opts: PasskeysOptions): Promise<void> {
  requirePlugins(app, 'passkeys', ['gatekeeper', 'gatekeeper-jwt'])
  const o = normalizePasskeysOptions(opts)
  const gk = app.gatekeeper
  if (!gk.has('jwt')) configError('the passkeys plugin needs the jwt plugin: register jwt before passkeys')
  if (gk.has('passkeys')) configError('the passkeys plugin is registered twice')
  const store = port(gk.store)
  const ctx = passkeysContext(gk, o, store, new Ceremonies(store, o, gk.now))
  gk.provide('passkeys', ctx.api)
  // With the mfa plugin (registered first), a passkey is also a second factor of a password login.
  if (gk.has('mfa')) gk.mfa.addFactor(webauthnFactor(ctx))
  if (o.prefix !== null) passkeyRoutes(app, ctx, o.prefix)
}

/**
 * WebAuthn passkeys: registration, usernameless sign-in with discoverable
 * credentials, several named passkeys per user, and (with the `mfa` plugin)
 * a passkey as the second factor of a password login.
 */
export const passkeys = fp(passkeysPlugin, { fastify: '5.x', name: 'gatekeeper-passkeys' })
