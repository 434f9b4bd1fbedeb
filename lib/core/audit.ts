import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { AuditEvent, AuditEventBase, AuditEvents, AuditEventType, GatekeeperEventMap } from './events.js'
import type { AuditOptions } from './types.js'

type Listener = (payload: never) => void

/** Fields a caller passes to {@link AuditTrail.record}: an event of the catalogue; time and request data are filled in. */
export type AuditInput<K extends AuditEventType = AuditEventType> = Omit<AuditEventBase, 'time' | 'outcome'> & { type: K, outcome?: AuditEventBase['outcome'] } & AuditEvents[K]

/**
 * The audit trail and the event bus of the gatekeeper. Listeners are called
 * synchronously and their exceptions are logged, never thrown into a request.
 */
export class AuditTrail {
  #listeners = new Map<string, Set<Listener>>()
  #pending = 0
  #dropped = 0
  readonly #log: boolean
  readonly #onEvent: AuditOptions['onEvent']
  readonly #maxPending: number

  constructor (
    private readonly logger: FastifyBaseLogger,
    private readonly clock: () => number,
    options: AuditOptions
  ) {
    this.#log = options.log !== false
    this.#onEvent = options.onEvent
    this.#maxPending = options.maxPending ?? 1000
  }

  /** Subscribes to `event` (`'audit'` for every audit event, `'anomaly'`, or an audit event type). */
  on<E extends keyof GatekeeperEventMap> (event: E, fn: (payload: GatekeeperEventMap[E]) => void): () => void
  on (event: string, fn: Listener): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) this.#listeners.set(event, (set = new Set()))
    set.add(fn)
    return () => { set.delete(fn) }
  }

  /** Calls the listeners of `event`. */
  emit<E extends keyof GatekeeperEventMap> (event: E, payload: GatekeeperEventMap[E]): void {
    this.#emit(event, payload)
  }

  #emit (event: string, payload: unknown): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    for (const fn of set) {
      try {
        (fn as (payload: unknown) => void)(payload)
      } catch (err) {
        this.logger.error({ err, listenerOf: event }, 'gatekeeper event listener failed')
      }
    }
  }

  /** How many `onEvent` calls were dropped because too many were in flight. */
  get dropped (): number {
    return this.#dropped
  }

  /**
   * Records an audit event: fills time, outcome and the request's ip, user
   * agent and id, logs it at `info` under `event`, hands it to `onEvent`,
   * and emits it to `'audit'` and to its own type's listeners.
   * Callers must never put a secret into `input`.
   */
  record<K extends AuditEventType> (input: AuditInput<K>, request?: FastifyRequest): AuditEvent<K> {
    const event = {
      time: new Date(this.clock()),
      outcome: 'info',
      ...(request === undefined
        ? {}
        : {
            ip: request.ip,
            userAgent: headerValue(request.headers['user-agent']),
            requestId: request.id,
            subject: request.auth?.subject ?? null,
            // Which authorization server and client a token of another issuer came from.
            ...(request.auth?.issuer === undefined ? {} : { issuer: request.auth.issuer }),
            ...(request.auth?.clientId === undefined ? {} : { clientId: request.auth.clientId })
          }),
      ...input
    } as AuditEvent<K>
    if (this.#log) (request?.log ?? this.logger).info({ event }, `audit ${event.type}`)
    // For one event of the catalogue, the union of all of them.
    const all = event as AuditEvent
    this.#deliver(all)
    this.emit('audit', all)
    this.#emit(event.type, event)
    return event
  }

  #deliver (event: AuditEvent): void {
    const onEvent = this.#onEvent
    if (onEvent === undefined) return
    if (this.#pending >= this.#maxPending) {
      this.#dropped++
      return
    }
    this.#pending++
    let result: void | Promise<void>
    try {
      result = onEvent(event)
    } catch (err) {
      this.#pending--
      this.logger.error({ err, eventType: event.type }, 'audit onEvent failed')
      return
    }
    if (result !== undefined && typeof result.then === 'function') {
      result.then(
        () => { this.#pending-- },
        (err: unknown) => {
          this.#pending--
          this.logger.error({ err, eventType: event.type }, 'audit onEvent failed')
        }
      )
    } else {
      this.#pending--
    }
  }
}

function headerValue (value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  const v = Array.isArray(value) ? value[0] : value
  return v === undefined ? null : v.slice(0, 256)
}
