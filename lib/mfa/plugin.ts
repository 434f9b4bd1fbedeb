import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import '../core/augment.js'
import { configError } from '../core/errors.js'
import { isRecord } from '../core/json.js'
import { declareService } from '../core/services.js'
import '../jwt/plugin.js'
import { storeRepository } from '../stores/repository.js'
import type { ChallengeRepository, GatekeeperStore, MfaFactorRepository, RecoveryCodeRepository } from '../stores/types.js'
import { recoveryFactor, totpFactor } from './factors.js'
import { MfaFlow } from './flow.js'
import { normalizeMfaOptions } from './options.js'
import { registerMfaRoutes } from './routes.js'
import { mfaService } from './service.js'
import { parseStepUp, requireAuthentication, type StepUpRequirement } from './step-up.js'
import type { MfaApi, MfaOptions, StepUpConfig } from './types.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** Second factors, the two-step login and step-up; set when the `mfa` plugin is registered. */
    readonly mfa: MfaApi
  }
}

declareService('mfa', 'mfa')

declare module '../jwt/types.js' {
  interface UserApi {
    /**
     * Removes every second factor and recovery code of a user (a lost
     * device, an administrator's reset): their next login asks for the
     * password only. Present when the `mfa` plugin is registered.
     */
    resetFactors?: (id: string, request?: import('fastify').FastifyRequest) => Promise<void>
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's step-up requirement (the `mfa` plugin): a second factor and/or a recent authentication. */
    stepUp?: StepUpConfig
  }
}

const REPOSITORIES = {
  mfaFactors: ['create', 'findById', 'listByUser', 'acceptStep', 'delete', 'deleteForUser'],
  recoveryCodes: ['replace', 'consume', 'remaining'],
  challenges: ['create', 'find', 'consume', 'fail', 'deleteExpired']
} as const

/** The store's repositories the plugin needs, checked at registration. */
function repositories (store: GatekeeperStore): { factors: MfaFactorRepository, codes: RecoveryCodeRepository, challenges: ChallengeRepository } {
  const checked = <K extends keyof typeof REPOSITORIES>(name: K): NonNullable<GatekeeperStore[K]> =>
    storeRepository(store, name, REPOSITORIES[name], `the mfa plugin needs store.${name}: this store has none (every bundled store has it; a custom store must implement it)`)
  return { factors: checked('mfaFactors'), codes: checked('recoveryCodes'), challenges: checked('challenges') }
}

/** What authenticator apps show for an issuer URL: its host (`https://api.example` → `api.example`). */
function displayName (issuer: string): string {
  try {
    return new URL(issuer).host || issuer.replaceAll(':', '')
  } catch {
    return issuer.replaceAll(':', '')
  }
}

async function mfaPlugin (app: FastifyInstance, opts: MfaOptions): Promise<void> {
  requirePlugins(app, 'mfa', ['gatekeeper', 'gatekeeper-jwt'])
  const o = normalizeMfaOptions(opts)
  const gk = app.gatekeeper
  if (!gk.has('jwt')) configError('the mfa plugin needs the jwt plugin: register jwt before mfa')
  const jwt = gk.jwt
  if (gk.has('mfa')) configError('the mfa plugin is registered twice')
  const repos = repositories(gk.store)
  const flow = new MfaFlow(gk, jwt, gk.tokens, o, repos.challenges)
  const api = mfaService(gk, flow, o, o.issuer ?? displayName(jwt.issuer), repos)
  api.addFactor(totpFactor(gk, repos.factors, o))
  api.addFactor(recoveryFactor(gk, repos.codes))
  gk.provide('mfa', api)
  const users = gk.users
  users.resetFactors = async (id, request) => { await api.resetFactors(id, request) }

  // After a right password: a user with a primary factor gets a pending second step instead of tokens.
  jwt.addLoginStep(async (user, request) => await flow.pending(user, request, null))

  // config.stepUp, checked when the route is added (a malformed one fails the start-up)...
  const compiled = new WeakMap<object, StepUpRequirement | null>()
  app.addHook('onRoute', (route) => {
    const config = route.config
    if (isRecord(config)) compiled.set(config, parseStepUp(config.stepUp, `route ${String(route.method)} ${route.url}`))
  })
  // ...and enforced once the caller is let in, by the core's own hook (a route added before this plugin is read at its first request).
  gk.addRouteExtension({
    afterAuthentication: () => [(request) => {
      const config = request.routeOptions.config
      let req = compiled.get(config)
      if (req === undefined) {
        req = parseStepUp(config.stepUp, `route ${request.method} ${request.routeOptions.url ?? request.url}`)
        compiled.set(config, req)
      }
      if (req !== null && request.auth !== null) requireAuthentication(gk, request, req, o.acr)
    }]
  })

  registerMfaRoutes(app, { gk, jwt, users, flow, api, o })
  app.addHook('onReady', async () => { api.markReady() })
}

/**
 * The `mfa` plugin: TOTP second factors with recovery codes, the two-step
 * password login, `amr`/`auth_time` in access tokens and step-up per route
 * (`config.stepUp`). Register it after the core `gatekeeper` and the `jwt`
 * plugins (and after `refresh`, so sessions keep their authentication).
 */
export const mfa = fp(mfaPlugin, { fastify: '5.x', name: 'gatekeeper-mfa' })

export type { MfaOptions }
