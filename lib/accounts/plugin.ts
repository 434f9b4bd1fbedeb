import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import '../core/augment.js'
import { configError, errors } from '../core/errors.js'
import { declareService } from '../core/services.js'
import '../jwt/plugin.js'
import { memoryCounters, MemoryCounterStore } from '../protection/counters.js'
import '../protection/setup.js'
import { storeRepository } from '../stores/repository.js'
import type { AccountTokenRepository, GatekeeperStore, UserRepository } from '../stores/types.js'
import { accountsApi, passwordChanged, type AccountsApi } from './api.js'
import type { AccountsContext, EmailUsers } from './context.js'
import { Jobs } from './jobs.js'
import { MailLimits } from './limits.js'
import { normalizeAccountsOptions, type AccountsOptions } from './options.js'
import { accountRoutes } from './routes.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** Password reset, email verification and change; set when the `accounts` plugin is registered. */
    readonly accounts: AccountsApi
  }
}

declareService('accounts', 'accounts')

const TOKEN_METHODS = ['create', 'findByHash', 'consume', 'revokeForUser', 'deleteExpired'] as const

/** The store's users, checked at registration: the flows look accounts up by email. */
function emailUsers (store: GatekeeperStore): EmailUsers {
  if (!findsByEmail(store.users)) {
    return configError('the accounts plugin needs store.users.findByEmail (and users that carry email and emailVerifiedAt): every bundled store has it; a users repository of your own must implement it')
  }
  return store.users
}

function findsByEmail (users: UserRepository): users is EmailUsers {
  return typeof users.findByEmail === 'function'
}

/** The store's account tokens, checked at registration. */
function accountTokens (store: GatekeeperStore): AccountTokenRepository {
  return storeRepository(store, 'accountTokens', TOKEN_METHODS,
    'the accounts plugin needs store.accountTokens for its one-time tokens: this store has none (every bundled store has it; a custom store must implement it)')
}

async function accountsPlugin (app: FastifyInstance, opts: AccountsOptions): Promise<void> {
  requirePlugins(app, 'accounts', ['gatekeeper', 'gatekeeper-jwt'])
  const o = normalizeAccountsOptions(opts)
  const gk = app.gatekeeper
  if (!gk.has('jwt')) configError('the accounts plugin needs the jwt plugin: register jwt before accounts')
  if (gk.has('accounts')) configError('the accounts plugin is registered twice')
  // Redis-backed counters are shared by every instance; the in-memory ones are bounded
  // LRUs, so mail counters get their own rather than evicting lockouts (or being evicted).
  const shared = gk.protection.counters
  const counters = shared instanceof MemoryCounterStore ? memoryCounters({ now: gk.now }) : shared
  const ctx: AccountsContext = {
    gk,
    o,
    users: emailUsers(gk.store),
    tokens: accountTokens(gk.store),
    limits: new MailLimits(counters, o.perAddress, o.perAccount),
    jobs: new Jobs(o.maxPending, app.log),
    log: app.log
  }
  const api = accountsApi(ctx)
  gk.provide('accounts', api)

  if (o.verifyOnRegister) {
    gk.jwt.addRegisterExtension((user, request) => {
      if (user.email != null && user.emailVerifiedAt == null) ctx.jobs.run('email_verification', () => api.requestVerification(user.id, request))
    })
  }
  gk.on('password.changed', (event: { outcome?: string, userId?: unknown }) => {
    if (event.outcome === 'success' && typeof event.userId === 'string') {
      const userId = event.userId
      ctx.jobs.run('password_changed', () => passwordChanged(ctx, userId))
    }
  })

  const requirement = o.requireVerifiedEmail
  if (requirement === 'login') {
    // Added when the app is ready, after brute-force protection's guard: a right password
    // still resets the failure count before the login is refused for the address.
    app.addHook('onReady', async () => {
      gk.jwt.addLoginGuard({
        onSuccess (request, user) {
          if (user.emailVerifiedAt !== null) return
          gk.record({ type: 'login.failure', outcome: 'failure', reason: 'GK_EMAIL_NOT_VERIFIED', userId: user.id }, request)
          throw new errors.GK_EMAIL_NOT_VERIFIED()
        }
      })
    })
  } else if (requirement !== false) {
    const restricted = Object.freeze([requirement.role])
    // Store records carry emailVerifiedAt (null until verified); a subject made up by your own code without it is left alone.
    gk.jwt.addRoleFilter((user, roles) => user.emailVerifiedAt === null ? restricted : roles)
  }

  if (o.prefix !== null) accountRoutes(app, ctx, api, o.prefix)

  let timer: NodeJS.Timeout | null = null
  if (o.purgeMs !== null) {
    timer = setInterval(() => {
      api.purge().catch((err: unknown) => { app.log.warn({ err }, 'gatekeeper: account token purge failed; it will be retried') })
    }, o.purgeMs)
    // Housekeeping never holds the process open.
    timer.unref()
  }
  app.addHook('onClose', async () => {
    if (timer !== null) clearInterval(timer)
    // Mails already accepted are finished before the store closes.
    await ctx.jobs.idle()
  })
}

/**
 * The `accounts` plugin: forgotten password, email verification and email
 * change, with one-time links mailed through your `send` hook. Register it
 * after the core `gatekeeper` and the `jwt` plugins.
 */
export const accounts = fp(accountsPlugin, { fastify: '5.x', name: 'gatekeeper-accounts' })

export type { AccountsOptions }
