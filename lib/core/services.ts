import { configError } from './errors.js'
import { Gatekeeper } from './gatekeeper.js'
import { kServices } from './symbols.js'

/**
 * Declares the service `app.gatekeeper[name]` a plugin provides (with
 * `gk.provide(name, service)` when it is registered), as a getter: read
 * before the plugin is registered, it throws `GK_CONFIG` naming the plugin as
 * users write it (`register`: how to get it, default ``await app.register(plugin, …)``).
 * Type it by declaration merging: `declare module 'fastify-gatekeeper' { interface Gatekeeper { readonly name: Api } }`.
 */
export function declareService (name: string, plugin: string, register = `\`await app.register(${plugin}, …)\``): void {
  Object.defineProperty(Gatekeeper.prototype, name, {
    configurable: true,
    enumerable: false,
    get (this: Gatekeeper): unknown {
      const services = this[kServices]
      if (!services.has(name)) configError(`app.gatekeeper.${name} was read before the ${plugin} plugin was registered: register it (after gatekeeper) first: ${register} before reading app.gatekeeper.${name}`)
      return services.get(name)
    }
  })
}
