import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import '../core/augment.js'
import { configError } from '../core/errors.js'
import { declareService } from '../core/services.js'
import { Nonces } from './nonce.js'
import { normalizeDpopOptions, type DpopOptions } from './options.js'
import { MemoryReplayCache, ReplayGuard } from './replay.js'
import { DpopService } from './service.js'
import './events.js'
import { requirePlugins } from '../core/requires.js'

declare module '../core/gatekeeper.js' {
  interface Gatekeeper {
    /** DPoP proofs and bound tokens; set when the dpop plugin is registered. */
    readonly dpop: DpopService
  }
}

declareService('dpop', 'dpop')

async function dpopPlugin (app: FastifyInstance, opts: DpopOptions): Promise<void> {
  requirePlugins(app, 'dpop', ['gatekeeper'])
  const options = normalizeDpopOptions(opts)
  const gk = app.gatekeeper
  if (gk.has('dpop')) configError('the dpop plugin is registered twice')
  const replay = new ReplayGuard(new MemoryReplayCache(options.replayCacheSize, gk.now()), gk.has('redis') ? gk.redis : null)
  const nonces = options.nonce === null ? null : new Nonces(options.nonce.secret, options.nonce.ttlMs)
  gk.provide('dpop', new DpopService({ gk, options, replay, nonces }))
  // RFC 9449 §7.1: the DPoP challenge names the algorithms a proof may use.
  gk.setSchemeParams('DPoP', `algs="${options.algorithms.join(' ')}"`)
  gk.setDpopPolicy(options.policy)
}

/**
 * The `dpop` plugin (RFC 9449): the jwt, refresh, oauth2 and resourceServer
 * plugins then issue and accept sender-constrained tokens, bound to a key
 * the client proves it holds on every request. Register it after the core
 * `gatekeeper` plugin, before the others.
 */
export const dpop = fp(dpopPlugin, { fastify: '5.x', name: 'gatekeeper-dpop' })

export type { DpopOptions }
